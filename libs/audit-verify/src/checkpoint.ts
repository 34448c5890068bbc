// Signed checkpoints: what the checkpoint service signs and how a verifier checks it.
// The signature is Ed25519 over the UTF-8 bytes of `signedText`, the canonical JSON of the
// fields below. Trust comes from the verifier's list of public keys (by key id), never from the
// key an event carries: anyone who can write Kafka can put a key of their own in an event.
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson, type ChainHead, type CheckpointSigned } from '@agentgate/events';

/** The fields a checkpoint signs (everything but the signature and its own text). */
export interface CheckpointBody {
  checkpointerId: string;
  keyId: string;
  /** The checkpoint event's seq in the checkpointer's own chain (checkpoint/<checkpointerId>). */
  seq: number;
  previousCheckpointHash: string | null;
  coveredFromUs: number;
  coveredUntilUs: number;
  heads: ChainHead[];
}

/** A trusted checkpoint signing key: its id and its public key (base64 SPKI DER). */
export interface TrustedKey {
  keyId: string;
  publicKey: string;
}

/** The chain id of a checkpointer's own chain. */
export function checkpointChainId(checkpointerId: string): string {
  return `checkpoint/${checkpointerId}`;
}

/** Key id: hex of the first 16 bytes of SHA-256 over the SPKI DER of the public key. */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 32);
}

/** Base64 SPKI DER of a public key, as published in key lists and events. */
export function publicKeyBase64(publicKey: KeyObject): string {
  return publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
}

/** The canonical text a checkpoint's signature covers; heads sorted by session id. */
export function checkpointSignedText(body: CheckpointBody): string {
  const heads = [...body.heads].sort((a, b) => (a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0));
  return canonicalJson({
    algorithm: 'Ed25519',
    checkpointerId: body.checkpointerId,
    keyId: body.keyId,
    seq: body.seq,
    previousCheckpointHash: body.previousCheckpointHash,
    coveredFromUs: body.coveredFromUs,
    coveredUntilUs: body.coveredUntilUs,
    heads: heads.map((h) => ({ sessionId: h.sessionId, seq: h.seq, hash: h.hash, events: h.events })),
  });
}

/** Signs a checkpoint body: the payload of a CheckpointSigned event. */
export function signCheckpoint(body: CheckpointBody, privateKey: KeyObject): CheckpointSigned {
  const publicKey = createPublicKey(privateKey);
  const signedText = checkpointSignedText(body);
  return {
    checkpointerId: body.checkpointerId,
    algorithm: 'Ed25519',
    keyId: body.keyId,
    publicKey: publicKeyBase64(publicKey),
    coveredFromUs: body.coveredFromUs,
    coveredUntilUs: body.coveredUntilUs,
    heads: [...body.heads],
    previousCheckpointHash: body.previousCheckpointHash,
    signedText,
    signature: sign(null, Buffer.from(signedText, 'utf8'), privateKey).toString('base64'),
  };
}

export type SignatureCheck = { ok: true } | { ok: false; reason: 'untrusted-key' | 'bad-signature' | 'text-mismatch' };

/**
 * Checks a checkpoint against trusted keys: the key id must be trusted, the signature valid
 * over signedText, and signedText must be exactly what the event's fields (and `seq`) give.
 */
export function verifyCheckpointSignature(checkpoint: CheckpointSigned, seq: number, trusted: readonly TrustedKey[]): SignatureCheck {
  const key = trusted.find((k) => k.keyId === checkpoint.keyId);
  if (key === undefined) return { ok: false, reason: 'untrusted-key' };
  const expected = checkpointSignedText({ ...checkpoint, seq });
  if (expected !== checkpoint.signedText) return { ok: false, reason: 'text-mismatch' };
  let valid = false;
  try {
    const publicKey = createPublicKey({ key: Buffer.from(key.publicKey, 'base64'), format: 'der', type: 'spki' });
    valid = verify(null, Buffer.from(checkpoint.signedText, 'utf8'), publicKey, Buffer.from(checkpoint.signature, 'base64'));
  } catch {
    valid = false;
  }
  return valid ? { ok: true } : { ok: false, reason: 'bad-signature' };
}
