export type { DelegationLink, TokenAlgorithm, TokenVerifier, TrustedIssuer, VerifiedIdentity, VerifierOptions } from './types.js';
export { createTokenVerifier } from './verifier.js';
export { auditActor, type AuditActor } from './audit-actor.js';
export { loadTrustFile, parseTrustFile, type TrustFileOptions } from './trust-file.js';
export { cachingVerifier, type VerifiedCacheOptions } from './verified-cache.js';
