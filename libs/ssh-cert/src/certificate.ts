// OpenSSH certificates of Ed25519 keys, encoded and parsed (PROTOCOL.certkeys, openssh-portable):
//
//   string    "ssh-ed25519-cert-v01@openssh.com"
//   string    nonce
//   string    pk                    the certified Ed25519 key (32 bytes)
//   uint64    serial
//   uint32    type                  1 = user, 2 = host
//   string    key id
//   string    valid principals      zero or more strings packed inside
//   uint64    valid after           seconds since 1970; valid after <= now < valid before
//   uint64    valid before
//   string    critical options      (string name, string data)*, sorted by name, each once
//   string    extensions            same encoding and rules
//   string    reserved
//   string    signature key         the CA's public key blob
//   string    signature             over every preceding byte of the blob
//
// Option data is empty for a flag (permit-pty) and otherwise a string holding the value, so a
// value is a string inside a string (ssh-keygen's prepare_options_buf does the same).
import { randomBytes, sign, type KeyObject } from 'node:crypto';
import { GatewayError } from '@agentgate/errors';
import { ED25519, oneLine, parsePublicKeyLine, strictBase64 } from './public-key.js';
import { WireReader, WireWriter } from './wire.js';

/** The certificate key type of Ed25519 keys. */
export const ED25519_CERT = 'ssh-ed25519-cert-v01@openssh.com';

/** SSH_CERT_TYPE_USER and SSH_CERT_TYPE_HOST. */
const CERT_TYPE = { user: 1, host: 2 } as const;

/** OpenSSH refuses certificates with more principals (SSHKEY_CERT_MAX_PRINCIPALS). */
export const MAX_PRINCIPALS = 256;

const UINT64_MAX = (1n << 64n) - 1n;

/** What an issuer puts into a user certificate. */
export interface UserCertificateRequest {
  /** The CA's Ed25519 private key. */
  ca: KeyObject;
  /** The key to certify, one line: `ssh-ed25519 AAAA... comment` (other key types are refused). */
  publicKey: string;
  serial: bigint;
  /** Named in the server's log lines; OpenSSH prints it with every login. */
  keyId: string;
  /** The user names the certificate is valid for; at least one (an empty list means any user to OpenSSH). */
  principals: string[];
  validAfterSec: number;
  validBeforeSec: number;
  /** Name to value; '' is a flag such as permit-pty. */
  extensions: Record<string, string>;
  criticalOptions?: Record<string, string>;
  /** Random by default; fixed only in tests. */
  nonce?: Buffer;
}

/** A parsed certificate. Nothing in it is trusted until {@link verifyCertificate} says so. */
export interface SshCertificate {
  keyType: typeof ED25519_CERT;
  nonce: Buffer;
  /** The certified key's raw 32 bytes. */
  publicKey: Buffer;
  /** The certified key as an ssh-ed25519 blob (what a plain public key login would present). */
  publicKeyBlob: Buffer;
  serial: bigint;
  type: 'user' | 'host';
  keyId: string;
  principals: string[];
  /** Seconds; a value beyond Number.MAX_SAFE_INTEGER (OpenSSH's "forever" is 2^64-1) is Infinity. */
  validAfterSec: number;
  validBeforeSec: number;
  criticalOptions: Record<string, string>;
  extensions: Record<string, string>;
  /** The CA's public key blob. */
  signatureKey: Buffer;
  /** The signature blob: string algorithm, string signature bytes. */
  signature: Buffer;
  /** The bytes the signature covers. */
  signedData: Buffer;
}

function refuse(reason: string): never {
  throw new GatewayError('AG_ERR_SSH_CERT_MALFORMED', `the certificate is malformed: ${reason}`);
}

/** Byte order of UTF-8 names: strcmp's order, which OpenSSH sorts by (not UTF-16 order). */
function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function checkText(what: string, value: unknown, { empty }: { empty: boolean }): string {
  if (typeof value !== 'string') return refuse(`${what} is not text`);
  if (!empty && value === '') return refuse(`${what} is empty`);
  if (value.includes('\u0000')) return refuse(`${what} contains a NUL character`);
  return value;
}

function encodeOptions(what: string, options: Record<string, string>): Buffer {
  const entries = Object.entries(options).map(([name, value]) => [
    checkText(`${what} name`, name, { empty: false }),
    checkText(`${what} ${name}`, value, { empty: true }),
  ]);
  entries.sort(([a = ''], [b = '']) => compareNames(a, b));
  const w = new WireWriter();
  for (const [name = '', value = ''] of entries) {
    w.string(name);
    w.string(value === '' ? Buffer.alloc(0) : new WireWriter().string(value).bytes());
  }
  return w.bytes();
}

function checkSeconds(what: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) return refuse(`${what} must be a whole number of seconds since 1970`);
  return value;
}

/**
 * Encodes and signs a user certificate for an ssh-ed25519 key; returns the line OpenSSH reads
 * from `<key>-cert.pub`: `ssh-ed25519-cert-v01@openssh.com AAAA... <key id>`.
 * Throws AG_ERR_SSH_KEY_UNSUPPORTED / AG_ERR_SSH_KEY_INVALID for the key, AG_ERR_SSH_CERT_MALFORMED
 * for fields that cannot be encoded (no principals, validity not after < before, NUL in text).
 */
export function encodeUserCertificate(request: UserCertificateRequest): string {
  const { ca } = request;
  if (ca.type !== 'private' || ca.asymmetricKeyType !== 'ed25519')
    throw new GatewayError('AG_ERR_SSH_KEY_UNSUPPORTED', 'the CA key must be an Ed25519 private key');
  const key = parsePublicKeyLine(request.publicKey);
  if (typeof request.serial !== 'bigint' || request.serial < 0n || request.serial > UINT64_MAX)
    refuse('the serial must be an unsigned 64-bit integer');
  const keyId = checkText('the key id', request.keyId, { empty: false });
  const principals = request.principals.map((p) => checkText('a principal', p, { empty: false }));
  if (principals.length === 0) refuse('a user certificate needs at least one principal');
  if (principals.length > MAX_PRINCIPALS) refuse(`more than ${MAX_PRINCIPALS} principals`);
  if (new Set(principals).size !== principals.length) refuse('a principal is listed twice');
  const after = checkSeconds('valid after', request.validAfterSec);
  const before = checkSeconds('valid before', request.validBeforeSec);
  if (after >= before) refuse('valid after must be before valid before');
  const nonce = request.nonce ?? randomBytes(32);

  const packedPrincipals = new WireWriter();
  for (const p of principals) packedPrincipals.string(p);
  const signed = new WireWriter()
    .string(ED25519_CERT)
    .string(nonce)
    .string(key.key)
    .uint64(request.serial)
    .uint32(CERT_TYPE.user)
    .string(keyId)
    .string(packedPrincipals.bytes())
    .uint64(BigInt(after))
    .uint64(BigInt(before))
    .string(encodeOptions('critical option', request.criticalOptions ?? {}))
    .string(encodeOptions('extension', request.extensions))
    .string(Buffer.alloc(0))
    .string(new WireWriter().string(ED25519).string(publicKeyOf(ca)).bytes())
    .bytes();
  // Ed25519 signs the message itself (no prehash): the algorithm argument is null.
  const signature = new WireWriter()
    .string(ED25519)
    .string(sign(null, signed, ca))
    .bytes();
  const blob = Buffer.concat([signed, new WireWriter().string(signature).bytes()]);
  const comment = oneLine(keyId);
  return `${ED25519_CERT} ${blob.toString('base64')}${comment === '' ? '' : ` ${comment}`}`;
}

function publicKeyOf(ca: KeyObject): Buffer {
  const x = ca.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new GatewayError('AG_ERR_SSH_KEY_INVALID', 'the CA key has no public part');
  return Buffer.from(x, 'base64url');
}

function parseOptions(what: string, data: Buffer): Record<string, string> {
  const r = new WireReader(data, refuse);
  const entries: [string, string][] = [];
  let previous: string | undefined;
  while (r.remaining > 0) {
    const name = r.text(`${what} name`);
    const raw = r.string(`${what} ${name}`);
    if (previous !== undefined) {
      const order = compareNames(previous, name);
      if (order === 0) refuse(`${what} ${name} appears twice`);
      if (order > 0) refuse(`${what}s are not sorted by name (${name} after ${previous})`);
    }
    previous = name;
    let value = '';
    if (raw.length > 0) {
      const inner = new WireReader(raw, refuse);
      value = inner.text(`${what} ${name} value`);
      inner.end(`${what} ${name} value`);
    }
    entries.push([name, value]);
  }
  // fromEntries defines own properties, so a name like __proto__ stays data.
  return Object.fromEntries(entries);
}

function seconds(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(value);
}

/**
 * Parses a certificate blob (the base64-decoded middle of a `-cert.pub` line, or the key blob
 * of a publickey login). Checks form only, not the signature: see {@link verifyCertificate}.
 * Throws AG_ERR_SSH_KEY_UNSUPPORTED for a certificate of another key type, AG_ERR_SSH_CERT_MALFORMED
 * for bad lengths, trailing bytes, an unknown certificate type, text that is not UTF-8 or holds
 * NUL, duplicate or unsorted options or extensions, or more than 256 principals.
 */
export function parseCertificate(blob: Buffer): SshCertificate {
  if (!Buffer.isBuffer(blob)) refuse('not bytes');
  const r = new WireReader(blob, refuse);
  const keyType = r.string('key type').toString('latin1');
  if (keyType !== ED25519_CERT) {
    if (/^[\x21-\x7e]{1,64}$/.test(keyType))
      throw new GatewayError('AG_ERR_SSH_KEY_UNSUPPORTED', `${keyType} certificates are not accepted: use ssh-ed25519 keys`);
    refuse('it does not start with a certificate key type');
  }
  const nonce = Buffer.from(r.string('nonce'));
  const publicKey = Buffer.from(r.string('public key'));
  if (publicKey.length !== 32) refuse(`an Ed25519 key has 32 bytes, not ${publicKey.length}`);
  const serial = r.uint64('serial');
  const typeNumber = r.uint32('certificate type');
  const type =
    typeNumber === CERT_TYPE.user ? 'user' : typeNumber === CERT_TYPE.host ? 'host' : refuse(`unknown certificate type ${typeNumber}`);
  const keyId = r.text('key id');
  const packed = new WireReader(r.string('valid principals'), refuse);
  const principals: string[] = [];
  while (packed.remaining > 0) {
    if (principals.length >= MAX_PRINCIPALS) refuse(`more than ${MAX_PRINCIPALS} principals`);
    principals.push(packed.text('principal'));
  }
  const validAfter = r.uint64('valid after');
  const validBefore = r.uint64('valid before');
  const criticalOptions = parseOptions('critical option', r.string('critical options'));
  const extensions = parseOptions('extension', r.string('extensions'));
  r.string('reserved');
  const signatureKey = Buffer.from(r.string('signature key'));
  const signedData = Buffer.from(blob.subarray(0, r.position));
  const signature = Buffer.from(r.string('signature'));
  r.end('certificate');
  return {
    keyType: ED25519_CERT,
    nonce,
    publicKey,
    publicKeyBlob: new WireWriter().string(ED25519).string(publicKey).bytes(),
    serial,
    type,
    keyId,
    principals,
    validAfterSec: seconds(validAfter),
    validBeforeSec: seconds(validBefore),
    criticalOptions,
    extensions,
    signatureKey,
    signature,
    signedData,
  };
}

/** The blob of a certificate line (`ssh-ed25519-cert-v01@openssh.com AAAA... comment`); AG_ERR_SSH_CERT_MALFORMED otherwise. */
export function certificateBlobOfLine(line: string): Buffer {
  const [type = '', data = ''] = line.trim().split(/[ \t]+/);
  if (type !== ED25519_CERT) refuse(`the line does not start with ${ED25519_CERT}`);
  const blob = strictBase64(data);
  if (blob === null) return refuse('the certificate data is not base64');
  return blob;
}
