// Which of the agent's StartupMessage parameters reach the target, and which are refused.
//
// Wire facts ("StartupMessage" and "Protocol Extensions" in the protocol chapter; the server's
// ProcessStartupPacket, pg_split_opts and process_postgres_switches):
//   - `user` and `database` name the login; the gateway replaces both with its connection's.
//   - `options` holds command-line switches split on whitespace, `\` escaping the next byte;
//     `-c name=value`, `-cname=value` and `--name=value` set a GUC (`-` in a long name is `_`).
//   - `replication` asks for a walsender, which speaks another protocol.
//   - a name starting with `_pq_.` is a protocol extension, answered by NegotiateProtocolVersion.
//   - every other name is a GUC set at session start, as if by SET.
// Settings that change how the server lexes SQL are refused unless the gateway's parser
// lexes the same way, and so are settings that would change who the session runs as.
import { GatewayError } from '@agentgate/errors';

/** A startup parameter as the agent sent it. */
export interface StartupParameter {
  name: string;
  value: string;
}

/** The outcome: what to forward to the target, or why the session is refused. */
export type StartupParameterDecision =
  | {
      ok: true;
      /** Parameters for the target's StartupMessage, in the agent's order (login and protocol ones removed). */
      forward: StartupParameter[];
      /** Protocol extension options the agent asked for; the gateway supports none. */
      unsupportedProtocolOptions: string[];
      /** GUC settings in effect at start, from top-level parameters and `options` (later wins). */
      settings: Record<string, string>;
    }
  | { ok: false; error: GatewayError };

const LOGIN_PARAMETERS = new Set(['user', 'database']);
// Encodings whose bytes the server reads as the gateway does: the database is UTF-8, and
// SQL_ASCII means "no conversion", so the server sees exactly the bytes the gateway parsed.
const ENCODINGS_FOLLOWED = new Set(['utf8', 'unicode', 'sqlascii']);
const IDENTITY_SETTINGS = new Set(['role', 'session_authorization']);
const FALSE_WORDS = new Set(['false', 'off', 'no', '0', 'f', 'n', 'of']);

function refuse(message: string): { ok: false; error: GatewayError } {
  return { ok: false, error: new GatewayError('AG_ERR_STARTUP_PARAMETER_REFUSED', message) };
}

/** Splits `options` as the server's pg_split_opts does: whitespace separates, `\` escapes. */
export function splitOptions(options: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  for (let i = 0; i < options.length; i++) {
    const ch = options[i]!;
    if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === '\\' && i + 1 < options.length) {
      current += options[++i];
      continue;
    }
    current += ch;
  }
  if (inWord) words.push(current);
  return words;
}

/** The GUC settings an `options` string makes, or the switch the gateway will not pass on. */
export function optionSettings(options: string): { settings: [string, string][] } | { refused: string } {
  const words = splitOptions(options);
  const settings: [string, string][] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    let assignment: string | undefined;
    if (word === '-c') assignment = words[++i];
    else if (word.startsWith('--')) assignment = word.slice(2);
    else if (word.startsWith('-c')) assignment = word.slice(2);
    // Other switches (-B, -F, -d, ...) are server start-up flags, not session settings.
    if (assignment === undefined) return { refused: word };
    const eq = assignment.indexOf('=');
    if (eq <= 0) return { refused: word };
    const name = assignment.slice(0, eq).replaceAll('-', '_');
    settings.push([name, assignment.slice(eq + 1)]);
  }
  return { settings };
}

function checkSetting(name: string, value: string, where: string): GatewayError | undefined {
  const key = name.toLowerCase();
  if (IDENTITY_SETTINGS.has(key)) {
    return new GatewayError(
      'AG_ERR_STARTUP_PARAMETER_REFUSED',
      `${where}${key} cannot be set through agentgate: the gateway chooses the target role`,
    );
  }
  if (key === 'client_encoding' && !ENCODINGS_FOLLOWED.has(value.toLowerCase().replace(/[-_\s]/g, ''))) {
    return new GatewayError(
      'AG_ERR_STARTUP_PARAMETER_REFUSED',
      `${where}client_encoding ${value} is not supported through agentgate; use UTF8 (PGCLIENTENCODING=UTF8)`,
    );
  }
  if (key === 'standard_conforming_strings' && FALSE_WORDS.has(value.toLowerCase())) {
    return new GatewayError(
      'AG_ERR_STARTUP_PARAMETER_REFUSED',
      `${where}standard_conforming_strings=off is not supported through agentgate`,
    );
  }
  return undefined;
}

/** Decides the agent's startup parameters (pure; see the wire facts at the top of the file). */
export function decideStartupParameters(parameters: Readonly<Record<string, string>>): StartupParameterDecision {
  const forward: StartupParameter[] = [];
  const unsupportedProtocolOptions: string[] = [];
  const settings: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(parameters)) {
    if (LOGIN_PARAMETERS.has(name)) continue;
    if (name.startsWith('_pq_.')) {
      unsupportedProtocolOptions.push(name);
      continue;
    }
    if (name === 'replication') {
      if (FALSE_WORDS.has(value.toLowerCase())) continue;
      return refuse('replication connections are not supported through agentgate');
    }
    if (name === 'options') {
      const parsed = optionSettings(value);
      if ('refused' in parsed)
        return refuse(
          `options: only -c name=value and --name=value are supported through agentgate, got ${JSON.stringify(parsed.refused)}`,
        );
      for (const [n, v] of parsed.settings) {
        const error = checkSetting(n, v, 'options: ');
        if (error) return { ok: false, error };
        settings[n.toLowerCase()] = v;
      }
    } else {
      const error = checkSetting(name, value, '');
      if (error) return { ok: false, error };
      settings[name.toLowerCase()] = value;
    }
    forward.push({ name, value });
  }
  return { ok: true, forward, unsupportedProtocolOptions, settings };
}

const MESSAGE_LEVELS = ['debug5', 'debug4', 'debug3', 'debug2', 'debug1', 'debug', 'log', 'notice', 'warning', 'error'];

/** Whether a NOTICE reaches this client, by its client_min_messages (default notice), as the server decides. */
export function clientWantsNotices(settings: Readonly<Record<string, string>>): boolean {
  const level = (settings['client_min_messages'] ?? 'notice').toLowerCase();
  const rank = MESSAGE_LEVELS.indexOf(level);
  return rank === -1 || rank <= MESSAGE_LEVELS.indexOf('notice');
}
