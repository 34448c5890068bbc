// The keys deterministic tokenization uses (libs/masking), vaulted like target credentials: the
// connections file names them by reference, never inline, and the secret is read at start.
//
//   "maskingKeys": {
//     "current":  { "id": "k2", "credential": "file:${AG_SECRETS_DIR}/masking-key" },
//     "previous": [ { "id": "k1", "credential": "env:AG_MASKING_KEY_K1" } ]
//   }
//
// A secret is hex (at least 32 hex digits, i.e. 16 bytes). Tokens are made with the current key;
// rotating it changes every token, so joins on tokens hold within one key. The previous keys are
// kept so that an operator can match old tokens (tokenizeUnderEveryKey).
import { readFileSync } from 'node:fs';
import { GatewayError } from '@agentgate/errors';
import { MIN_KEY_BYTES, type MaskingKey, type MaskingKeyRing } from '@agentgate/masking';
import { resolveCredential } from './credentials.js';

function parseKey(raw: unknown, where: string, env: Readonly<Record<string, string | undefined>>): MaskingKey {
  const entry = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const id = entry['id'];
  const credential = entry['credential'];
  if (typeof id !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(id))
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `${where}.id must be 1-64 letters, digits, _ . -`);
  if ('secret' in entry) throw new GatewayError('AG_ERR_CONFIG_INVALID', `${where}: inline secrets are not allowed; use "credential"`);
  if (typeof credential !== 'string') throw new GatewayError('AG_ERR_CONFIG_INVALID', `${where}.credential must be env:NAME or file:/path`);
  const expanded = credential.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => env[name] ?? '');
  const hex = resolveCredential(expanded, env).trim();
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex) || hex.length / 2 < MIN_KEY_BYTES)
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `${where}: the secret must be hex of at least ${MIN_KEY_BYTES} bytes`);
  return { id, secret: new Uint8Array(Buffer.from(hex, 'hex')) };
}

/** The key ring from a connections file's text, or undefined when it names none. */
export function parseMaskingKeys(json: string, env: Readonly<Record<string, string | undefined>>): MaskingKeyRing | undefined {
  const doc = JSON.parse(json) as { maskingKeys?: unknown };
  if (doc.maskingKeys === undefined) return undefined;
  const keys = (typeof doc.maskingKeys === 'object' && doc.maskingKeys !== null ? doc.maskingKeys : {}) as Record<string, unknown>;
  const current = parseKey(keys['current'], 'maskingKeys.current', env);
  const previousRaw = keys['previous'] ?? [];
  if (!Array.isArray(previousRaw)) throw new GatewayError('AG_ERR_CONFIG_INVALID', 'maskingKeys.previous must be an array');
  const previous = previousRaw.map((k, i) => parseKey(k, `maskingKeys.previous[${i}]`, env));
  const ids = new Set([current.id, ...previous.map((k) => k.id)]);
  if (ids.size !== 1 + previous.length) throw new GatewayError('AG_ERR_CONFIG_INVALID', 'maskingKeys: key ids must be unique');
  return Object.freeze({ current, previous });
}

/** Reads the key ring named by the connections file at `path`. */
export function loadMaskingKeys(path: string, env: Readonly<Record<string, string | undefined>>): MaskingKeyRing | undefined {
  return parseMaskingKeys(readFileSync(path, 'utf8'), env);
}
