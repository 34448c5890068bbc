// The trusted-issuer file (deploy/identity.json) shared by every component that verifies
// tokens: the ingress and the CLI must trust exactly the same issuers and audiences.
// parseTrustFile is pure; loadTrustFile reads the file first. createTokenVerifier validates the values.
import { readFileSync } from 'node:fs';
import { GatewayError } from '@agentgate/errors';
import type { TrustedIssuer, VerifierOptions } from './types.js';

/** The verifier options a trust file holds. */
export type TrustFileOptions = Pick<VerifierOptions, 'issuers' | 'maxTokenBytes'>;

/**
 * Parses the text of a trust file `{ "issuers": [...], "maxTokenBytes"?: n }`; `source` names
 * the file in errors. Throws AG_ERR_CONFIG_INVALID on malformed JSON or a missing issuer list.
 */
export function parseTrustFile(text: string, source: string): TrustFileOptions {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `identity file ${source} is not valid JSON`, { cause });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `identity file ${source} must hold a JSON object`);
  }
  const { issuers, maxTokenBytes } = doc as { issuers?: unknown; maxTokenBytes?: unknown };
  if (!Array.isArray(issuers) || issuers.length === 0) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `identity file ${source} needs a non-empty "issuers" array`);
  }
  if (maxTokenBytes !== undefined && typeof maxTokenBytes !== 'number') {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `identity file ${source}: "maxTokenBytes" must be a number`);
  }
  return { issuers: issuers as TrustedIssuer[], ...(maxTokenBytes === undefined ? {} : { maxTokenBytes }) };
}

/** Reads and parses the trust file at `path` (services call it once at start); AG_ERR_CONFIG_INVALID when unreadable. */
export function loadTrustFile(path: string): TrustFileOptions {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `cannot read identity file ${path}`, { cause });
  }
  return parseTrustFile(text, path);
}
