// Whether a presented certificate may log in: signed by a trusted CA, a user certificate, inside
// its validity, naming the user, and carrying no critical option the caller does not enforce.
// The signature is checked before any field is believed, so a tampered certificate is refused
// as tampered whichever field was changed.
import { verify } from 'node:crypto';
import { GatewayError } from '@agentgate/errors';
import { parseCertificate, type SshCertificate } from './certificate.js';
import { ED25519, ed25519KeyOfBlob, ed25519PublicKeyObject } from './public-key.js';
import { WireReader } from './wire.js';

/** What a certificate is verified against. */
export interface VerifyOptions {
  /** The trusted CAs' public key blobs (ssh-ed25519 wire form, see publicKeyBlob). */
  trustedCaKeys: readonly Buffer[];
  /** The current time in seconds (injected clock). */
  nowSec: number;
  /** The login user name; when given it must be among the principals (an empty list matches nobody). */
  user?: string;
  /**
   * Critical options the caller enforces (e.g. force-command, source-address). Any other is refused,
   * as PROTOCOL.certkeys requires; the default is none.
   */
  supportedCriticalOptions?: readonly string[];
}

function badSignature(reason: string): never {
  throw new GatewayError('AG_ERR_SSH_CERT_SIGNATURE_INVALID', `the certificate signature does not verify: ${reason}`);
}

/** The 64 signature bytes of an ssh-ed25519 signature blob: string "ssh-ed25519", string signature. */
function ed25519Signature(blob: Buffer): Buffer {
  const r = new WireReader(blob, badSignature);
  const algorithm = r.string('signature algorithm').toString('latin1');
  if (algorithm !== ED25519) badSignature(`algorithm ${JSON.stringify(algorithm.slice(0, 64))} is not ${ED25519}`);
  const bytes = r.string('signature');
  if (bytes.length !== 64) badSignature(`an Ed25519 signature has 64 bytes, not ${bytes.length}`);
  r.end('signature');
  return bytes;
}

/**
 * Parses and verifies a certificate blob; returns it when it may log in. Throws a GatewayError:
 * AG_ERR_SSH_CERT_MALFORMED (or AG_ERR_SSH_KEY_UNSUPPORTED), AG_ERR_SSH_CERT_CA_UNTRUSTED,
 * AG_ERR_SSH_CERT_SIGNATURE_INVALID, AG_ERR_SSH_CERT_TYPE_NOT_ALLOWED (a host certificate),
 * AG_ERR_SSH_CERT_NOT_YET_VALID, AG_ERR_SSH_CERT_EXPIRED, AG_ERR_SSH_CERT_PRINCIPAL_MISMATCH,
 * AG_ERR_SSH_CERT_OPTION_UNSUPPORTED.
 */
export function verifyCertificate(blob: Buffer, options: VerifyOptions): SshCertificate {
  if (!Number.isFinite(options.nowSec)) throw new GatewayError('AG_ERR_CONFIG_INVALID', 'nowSec must be a number of seconds');
  const cert = parseCertificate(blob);

  // Trust is the CA key's exact bytes; only Ed25519 CAs are supported.
  const trusted = options.trustedCaKeys.some((k) => k.equals(cert.signatureKey));
  if (!trusted) throw new GatewayError('AG_ERR_SSH_CERT_CA_UNTRUSTED');
  const caKey = ed25519KeyOfBlob(cert.signatureKey, (reason) => {
    throw new GatewayError('AG_ERR_SSH_KEY_UNSUPPORTED', `the trusted CA key is not usable: ${reason}`);
  });
  if (!verify(null, cert.signedData, ed25519PublicKeyObject(caKey), ed25519Signature(cert.signature))) badSignature('wrong signature');

  if (cert.type !== 'user') throw new GatewayError('AG_ERR_SSH_CERT_TYPE_NOT_ALLOWED', `a ${cert.type} certificate cannot log in a user`);
  if (options.nowSec < cert.validAfterSec)
    throw new GatewayError('AG_ERR_SSH_CERT_NOT_YET_VALID', `the certificate is valid from ${cert.validAfterSec} (now ${options.nowSec})`);
  if (options.nowSec >= cert.validBeforeSec)
    throw new GatewayError('AG_ERR_SSH_CERT_EXPIRED', `the certificate expired at ${cert.validBeforeSec} (now ${options.nowSec})`);
  if (options.user !== undefined && !cert.principals.includes(options.user))
    throw new GatewayError('AG_ERR_SSH_CERT_PRINCIPAL_MISMATCH', `the certificate is not valid for ${JSON.stringify(options.user)}`);
  const supported = options.supportedCriticalOptions ?? [];
  for (const name of Object.keys(cert.criticalOptions)) {
    if (!supported.includes(name))
      throw new GatewayError('AG_ERR_SSH_CERT_OPTION_UNSUPPORTED', `the critical option ${JSON.stringify(name)} is not enforced here`);
  }
  return cert;
}
