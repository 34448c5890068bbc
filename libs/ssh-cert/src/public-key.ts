// Ed25519 public keys in OpenSSH's forms (RFC 8709 section 4):
//   blob:  string "ssh-ed25519", string key (32 bytes)
//   line:  "ssh-ed25519 <base64 of the blob> [comment]"   (authorized_keys, *.pub)
//   fingerprint: "SHA256:" + unpadded base64 of SHA-256(blob), as ssh-keygen -l prints it
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { GatewayError } from '@agentgate/errors';
import { WireReader, WireWriter } from './wire.js';

/** The key type name of Ed25519 keys and signatures. */
export const ED25519 = 'ssh-ed25519';
const ED25519_KEY_BYTES = 32;

/** Longest public key line accepted: an Ed25519 line is about 80 characters plus its comment. */
export const MAX_PUBLIC_KEY_LINE = 1024;

/** The wire blob of a raw 32-byte Ed25519 public key. */
export function ed25519Blob(rawKey: Buffer): Buffer {
  if (rawKey.length !== ED25519_KEY_BYTES) throw new GatewayError('AG_ERR_SSH_KEY_INVALID', 'an Ed25519 key has 32 bytes');
  return new WireWriter().string(ED25519).string(rawKey).bytes();
}

/** The raw 32-byte key of an ssh-ed25519 blob; `fail` throws for anything else. */
export function ed25519KeyOfBlob(blob: Buffer, fail: (reason: string) => never): Buffer {
  const r = new WireReader(blob, fail);
  const type = r.string('key type').toString('latin1');
  if (type !== ED25519) fail(`key type ${JSON.stringify(type.slice(0, 64))} is not ${ED25519}`);
  const key = r.string('Ed25519 key');
  if (key.length !== ED25519_KEY_BYTES) fail(`an Ed25519 key has 32 bytes, not ${key.length}`);
  r.end('Ed25519 public key');
  return Buffer.from(key);
}

/** The raw public key of an Ed25519 KeyObject (public or private). */
function rawEd25519(key: KeyObject): Buffer {
  if (key.asymmetricKeyType !== 'ed25519')
    throw new GatewayError('AG_ERR_SSH_KEY_UNSUPPORTED', `an Ed25519 key is required, not ${key.asymmetricKeyType ?? key.type}`);
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const x = pub.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new GatewayError('AG_ERR_SSH_KEY_INVALID', 'the Ed25519 key has no public part');
  return Buffer.from(x, 'base64url');
}

/** The ssh-ed25519 wire blob of an Ed25519 KeyObject (a CA key, public or private). */
export function publicKeyBlob(key: KeyObject): Buffer {
  return ed25519Blob(rawEd25519(key));
}

/** The one-line OpenSSH form of an Ed25519 KeyObject: `ssh-ed25519 AAAA... comment`. */
export function openSshPublicKey(key: KeyObject, comment?: string): string {
  const line = `${ED25519} ${publicKeyBlob(key).toString('base64')}`;
  const c = comment === undefined ? '' : oneLine(comment);
  return c === '' ? line : `${line} ${c}`;
}

/** The fingerprint of a key blob as ssh-keygen prints it: `SHA256:` and unpadded base64. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** A KeyObject for the raw key of an ssh-ed25519 blob (to verify signatures with). */
export function ed25519PublicKeyObject(rawKey: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: rawKey.toString('base64url') }, format: 'jwk' });
}

/** A comment made safe for one line of a key file: control characters become spaces. */
export function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Strict base64: the canonical encoding only (Buffer.from would skip junk silently); null otherwise. */
export function strictBase64(text: string): Buffer | null {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

/** A public key line taken apart. */
export interface PublicKeyLine {
  /** Always ssh-ed25519: other types are refused. */
  type: typeof ED25519;
  /** The wire blob (what is certified). */
  blob: Buffer;
  /** The raw 32-byte key. */
  key: Buffer;
  comment: string;
}

const KEY_TYPE_NAME = /^[A-Za-z0-9][A-Za-z0-9@.+_-]{0,63}$/;

/**
 * Parses `ssh-ed25519 AAAA... [comment]`. Throws AG_ERR_SSH_KEY_UNSUPPORTED for a well-formed
 * line of another key type (RSA, ECDSA, security keys, certificates), AG_ERR_SSH_KEY_INVALID
 * for anything malformed or longer than `maxLength` characters.
 */
export function parsePublicKeyLine(line: string, maxLength = MAX_PUBLIC_KEY_LINE): PublicKeyLine {
  const invalid = (reason: string): never => {
    throw new GatewayError('AG_ERR_SSH_KEY_INVALID', `the public key is malformed: ${reason}`);
  };
  if (typeof line !== 'string') return invalid('not text');
  if (line.length > maxLength) return invalid(`longer than ${maxLength} characters`);
  const trimmed = line.trim();
  if (/[\r\n]/.test(trimmed)) return invalid('more than one line');
  const [type = '', data = '', ...rest] = trimmed.split(/[ \t]+/);
  if (!KEY_TYPE_NAME.test(type)) return invalid('it does not start with a key type such as ssh-ed25519');
  const blob = strictBase64(data);
  if (blob === null) return invalid('the key data is not base64');
  if (type !== ED25519) throw new GatewayError('AG_ERR_SSH_KEY_UNSUPPORTED', `${type} keys are not accepted: use ssh-ed25519`);
  const key = ed25519KeyOfBlob(blob, invalid);
  return { type: ED25519, blob, key, comment: rest.join(' ') };
}
