// Whether the gateway reads a statement as the target will. The gateway's parser lexes SQL
// with standard_conforming_strings on, as UTF-8. Two server settings change lexing:
//   - standard_conforming_strings = off makes a backslash inside '...' an escape;
//   - a client_encoding other than UTF8 or SQL_ASCII (SJIS, GBK, BIG5, ...) converts the
//     bytes, and a multibyte character there can swallow a following backslash or quote.
// A statement with no backslash and only ASCII bytes lexes the same under every setting, so
// only statements with either need the settings the server is known to have.
import { GatewayError } from '@agentgate/errors';

/** The settings that change lexing, as the server last reported them (ParameterStatus). */
export interface LexingSettings {
  standardConformingStrings: string;
  clientEncoding: string;
}

export const DEFAULT_LEXING: Readonly<LexingSettings> = Object.freeze({ standardConformingStrings: 'on', clientEncoding: 'UTF8' });

const FOLLOWED_ENCODINGS = new Set(['UTF8', 'SQL_ASCII']);

/** True when `text` has a backslash or a non-ASCII character, whose lexing depends on the settings. */
export function lexingDependsOnSettings(text: string): boolean {
  // Code units: a non-ASCII character is >= 0x80 in UTF-16 as in UTF-8.
  return /[\\\u0080-\uffff]/.test(text);
}

/** Applies a ParameterStatus to the settings; other parameters leave them unchanged. */
export function withParameterStatus(settings: LexingSettings, name: string, value: string): LexingSettings {
  if (name === 'standard_conforming_strings') return { ...settings, standardConformingStrings: value };
  if (name === 'client_encoding') return { ...settings, clientEncoding: value };
  return settings;
}

/** Why the gateway cannot read statements with backslashes or non-ASCII bytes as the server will, if it cannot. */
export function unfollowableLexing(settings: LexingSettings): GatewayError | undefined {
  if (settings.standardConformingStrings !== 'on') {
    return new GatewayError(
      'AG_ERR_LEXING_UNSUPPORTED',
      'standard_conforming_strings is off on the target: statements with backslashes are refused until SET standard_conforming_strings = on',
    );
  }
  if (!FOLLOWED_ENCODINGS.has(settings.clientEncoding.toUpperCase())) {
    return new GatewayError(
      'AG_ERR_LEXING_UNSUPPORTED',
      `client_encoding is ${settings.clientEncoding} on the target: statements with non-ASCII bytes or backslashes are refused until SET client_encoding = 'UTF8'`,
    );
  }
  return undefined;
}
