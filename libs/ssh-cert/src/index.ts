export {
  ED25519_CERT,
  MAX_PRINCIPALS,
  certificateBlobOfLine,
  encodeUserCertificate,
  parseCertificate,
  type SshCertificate,
  type UserCertificateRequest,
} from './certificate.js';
export {
  ED25519,
  MAX_PUBLIC_KEY_LINE,
  ed25519PublicKeyObject,
  fingerprint,
  openSshPublicKey,
  parsePublicKeyLine,
  publicKeyBlob,
  type PublicKeyLine,
} from './public-key.js';
export { verifyCertificate, type VerifyOptions } from './verify.js';
