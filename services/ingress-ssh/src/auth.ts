// Who an SSH client is: its OIDC access token given as the password (or the answer to a
// keyboard-interactive prompt), or a short-lived user certificate the gateway's CA issued for a
// verified token (`agentgate ssh login`, cert-api.ts). The certificate carries the actor the
// token was verified as, in an extension the CA signed; its validity never outlasts the token.
import { verify as verifySignature } from 'node:crypto';
import { GatewayError } from '@agentgate/errors';
import type { Actor } from '@agentgate/events';
import { auditActor, type TokenVerifier } from '@agentgate/identity';
import { ED25519_CERT, ed25519PublicKeyObject, parseCertificate, verifyCertificate } from '@agentgate/ssh-cert';
import { ACTOR_EXTENSION, parseActorExtension } from './cert-actor.js';

export interface SshIdentity {
  actor: Actor;
  /** When the token (or the certificate issued for it) expires: the session ends then. */
  expiresAtMs: number;
}

/** A token as the SSH password: verified like the PostgreSQL ingress verifies it. */
export async function identityOfToken(verifier: TokenVerifier, token: string): Promise<SshIdentity> {
  const identity = await verifier.verify(token.trim());
  return { actor: auditActor(identity), expiresAtMs: identity.expiresAt.getTime() };
}

/** The signature part of an SSH signature blob: string algorithm, string bytes. */
function signatureBytes(blob: Buffer): { algorithm: string; bytes: Buffer } | undefined {
  if (blob.length < 8) return undefined;
  const algoLength = blob.readUInt32BE(0);
  if (4 + algoLength + 4 > blob.length) return undefined;
  const algorithm = blob.subarray(4, 4 + algoLength).toString('latin1');
  const bytesLength = blob.readUInt32BE(4 + algoLength);
  const start = 8 + algoLength;
  if (start + bytesLength !== blob.length) return undefined;
  return { algorithm, bytes: blob.subarray(start) };
}

export interface CertificateLogin {
  algorithm: string;
  /** The certificate blob the client presented. */
  key: Buffer;
  /** Absent when the client only asks whether the key would do (no signature yet). */
  signature?: Buffer;
  /** What the signature covers (session id and the request). */
  signedData?: Buffer;
}

/**
 * Checks a certificate login for `user` (the connection): the CA signed it, it is a user
 * certificate for this connection and valid now, and (once signed) the client holds its key.
 * Returns the identity, or undefined for a key check without signature that would pass.
 */
export function identityOfCertificate(
  login: CertificateLogin,
  options: { trustedCaKeys: Buffer[]; nowSec: number; user: string },
): SshIdentity | undefined {
  if (login.algorithm !== ED25519_CERT)
    throw new GatewayError('AG_ERR_SSH_KEY_UNSUPPORTED', `only ${ED25519_CERT} certificates are accepted, not ${login.algorithm}`);
  const certificate = verifyCertificate(login.key, options);
  const actor = parseActorExtension(certificate.extensions[ACTOR_EXTENSION]);
  if (!login.signature || !login.signedData) return undefined;
  // ssh2 leaves a certificate login's signature in its wire form (its algorithm name differs from the key's).
  const sig = signatureBytes(login.signature) ?? { algorithm: 'ssh-ed25519', bytes: login.signature };
  if (sig.algorithm !== 'ssh-ed25519' || sig.bytes.length !== 64)
    throw new GatewayError('AG_ERR_SSH_CERT_SIGNATURE_INVALID', 'the login signature is not an Ed25519 signature');
  if (!verifySignature(null, login.signedData, ed25519PublicKeyObject(certificate.publicKey), sig.bytes))
    throw new GatewayError('AG_ERR_SSH_CERT_SIGNATURE_INVALID', 'the login signature does not verify with the certified key');
  const expiresAtMs = Math.min(certificate.validBeforeSec * 1000, actor.tokenExpiresAtSec * 1000);
  return { actor: { ...actor.actor, authMethod: 'ssh-certificate' }, expiresAtMs };
}

/** Parses a certificate without trusting it: for logs of refused logins (its key id), never for access. */
export function untrustedKeyId(blob: Buffer): string | undefined {
  try {
    return parseCertificate(blob).keyId;
  } catch {
    return undefined;
  }
}
