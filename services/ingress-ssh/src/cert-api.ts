// The SSH certificate API (fastify): an agent trades a verified access token for a short-lived
// OpenSSH user certificate signed by the gateway's SSH CA, so plain `ssh` works afterwards
// (`agentgate ssh login` calls it). Built here with the verifier, the clock and the CA key
// injected; main.ts runs it. The SSH server verifies the certificates itself (verifyCertificate).
//
//   POST /v1/ssh/certificates  {"publicKey":"ssh-ed25519 AAAA..."}
//     -> 201 {certificate, validBeforeSec, keyId, principals, caFingerprint}
//   GET  /v1/ssh/ca            -> 200 {publicKey: "ssh-ed25519 AAAA... agentgate-ssh-ca", fingerprint}
//
// The certificate carries the caller's audit actor and the token's exp in the extension
// cert-actor.ts defines (the SSH server reads it back from there).
// Every request needs a bearer token; errors are RFC 9457 problem documents with the code.
import { randomBytes, type KeyObject } from 'node:crypto';
import { GatewayError, type ErrorCode } from '@agentgate/errors';
import { installProblemHandlers, problemSender, requireBearer } from '@agentgate/http-edge';
import { auditActor, type VerifiedIdentity } from '@agentgate/identity';
import type { Logger } from '@agentgate/observability';
import {
  MAX_PUBLIC_KEY_LINE,
  encodeUserCertificate,
  fingerprint,
  openSshPublicKey,
  parsePublicKeyLine,
  publicKeyBlob,
} from '@agentgate/ssh-cert';
import { fastify, type FastifyInstance, type FastifyRequest } from 'fastify';
import { ACTOR_EXTENSION, actorExtension } from './cert-actor.js';

export interface CertApiDeps {
  /** Verifies a bearer token; throws a GatewayError (AG_ERR_TOKEN_*, AG_ERR_IDP_UNAVAILABLE) on rejection. */
  verifyToken(token: string): Promise<VerifiedIdentity>;
  /** The connection names this identity may use: the certificate's principals (the SSH user names). */
  connectionsFor(identity: VerifiedIdentity): readonly string[] | Promise<readonly string[]>;
  /** The SSH CA's Ed25519 private key. */
  ca: KeyObject;
  now(): Date;
  /** The longest certificate lifetime; a certificate never outlives its token either. */
  maxTtlSec: number;
  /** A fresh serial per certificate; random 64 bits by default. */
  newSerial?(): bigint;
  logger?: Logger;
}

/** Request body limit: a public key line and a little JSON. */
export const CERT_API_BODY_LIMIT = 8 * 1024;
/** Certificates start valid this long before issue, for clients whose clocks run behind. */
export const BACKDATE_SEC = 60;
/** The comment of the CA's public key line. */
export const CA_COMMENT = 'agentgate-ssh-ca';

/** The HTTP status of a code at this edge. */
export function certApiStatus(code: ErrorCode): number {
  if (code.startsWith('AG_ERR_TOKEN_')) return 401;
  switch (code) {
    case 'AG_ERR_UNAUTHENTICATED':
      return 401;
    case 'AG_ERR_BAD_REQUEST':
    case 'AG_ERR_SSH_KEY_INVALID':
    case 'AG_ERR_SSH_KEY_UNSUPPORTED':
      return 400;
    case 'AG_ERR_CONNECTION_FORBIDDEN':
      return 403;
    case 'AG_ERR_IDP_UNAVAILABLE':
      return 503;
    default:
      return 500;
  }
}

const ISSUE_SCHEMA = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['publicKey'],
    properties: { publicKey: { type: 'string' } },
  },
} as const;

function randomSerial(): bigint {
  return randomBytes(8).readBigUInt64BE();
}

/** Builds the certificate API; listen with app.listen, test with app.inject. */
export function createCertApi(deps: CertApiDeps): FastifyInstance {
  if (!Number.isSafeInteger(deps.maxTtlSec) || deps.maxTtlSec <= 0)
    throw new GatewayError('AG_ERR_CONFIG_INVALID', 'maxTtlSec must be a positive whole number of seconds');
  // Fails now, not at the first request, when the CA key is not an Ed25519 key.
  const caBlob = publicKeyBlob(deps.ca);
  const caFingerprint = fingerprint(caBlob);
  const caLine = openSshPublicKey(deps.ca, CA_COMMENT);
  const newSerial = deps.newSerial ?? randomSerial;

  const app = fastify({
    logger: false,
    bodyLimit: CERT_API_BODY_LIMIT,
    // Unknown fields are refused, not dropped; a number is not a key line.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });
  const send = problemSender(certApiStatus);
  installProblemHandlers(app, send, (code) => deps.logger?.error({ code }, 'SSH certificate API request failed'));
  // The verified caller of each request, kept beside it rather than declared on every FastifyRequest.
  const callers = new WeakMap<FastifyRequest, VerifiedIdentity>();
  requireBearer(app, {
    verifyToken: deps.verifyToken,
    send,
    admit(caller, request) {
      callers.set(request, caller);
      return undefined;
    },
  });

  const callerOf = (request: FastifyRequest): VerifiedIdentity => {
    const identity = callers.get(request);
    if (identity === undefined) throw new GatewayError('AG_ERR_UNAUTHENTICATED');
    return identity;
  };

  app.get('/v1/ssh/ca', async () => ({ publicKey: caLine, fingerprint: caFingerprint }));

  app.post<{ Body: { publicKey: string } }>('/v1/ssh/certificates', { schema: ISSUE_SCHEMA }, async (request, reply) => {
    const identity = callerOf(request);
    const key = parsePublicKeyLine(request.body.publicKey, MAX_PUBLIC_KEY_LINE);
    const nowSec = Math.floor(deps.now().getTime() / 1000);
    const expSec = Math.floor(identity.expiresAt.getTime() / 1000);
    const validBeforeSec = Math.min(expSec, nowSec + deps.maxTtlSec);
    // The verifier's clock tolerance can admit a token whose exp has just passed: nothing to issue.
    if (validBeforeSec <= nowSec) throw new GatewayError('AG_ERR_TOKEN_EXPIRED');
    const principals = [...new Set(await deps.connectionsFor(identity))];
    if (principals.length === 0)
      throw new GatewayError('AG_ERR_CONNECTION_FORBIDDEN', `${identity.subject} may use no connection, so there is nothing to certify`);
    const keyId = identity.subject;
    const serial = newSerial();
    const certificate = encodeUserCertificate({
      ca: deps.ca,
      publicKey: `${key.type} ${key.blob.toString('base64')}`,
      serial,
      keyId,
      principals,
      validAfterSec: Math.max(0, nowSec - BACKDATE_SEC),
      validBeforeSec,
      extensions: { 'permit-pty': '', 'permit-port-forwarding': '', [ACTOR_EXTENSION]: actorExtension(auditActor(identity), expSec) },
    });
    deps.logger?.info(
      { keyId, serial: serial.toString(), principals, validBeforeSec, keyFingerprint: fingerprint(key.blob) },
      'SSH certificate issued',
    );
    return reply.code(201).send({ certificate, validBeforeSec, keyId, principals, caFingerprint });
  });

  return app;
}
