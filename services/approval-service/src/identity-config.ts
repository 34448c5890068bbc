// Reads the trusted-issuer file (deploy/identity.json) into verifier options. The
// identity library validates the values; this only checks the file's shape.
import { readFileSync } from 'node:fs';
import { GatewayError } from '@agentgate/errors';
import type { TrustedIssuer, VerifierOptions } from '@agentgate/identity';

/** Loads issuers and limits; throws AG_ERR_CONFIG_INVALID on an unreadable or malformed file. */
export function loadIdentityConfig(path: string): Pick<VerifierOptions, 'issuers' | 'maxTokenBytes'> {
  let doc: { issuers?: unknown; maxTokenBytes?: unknown };
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as typeof doc;
  } catch (cause) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `cannot read identity file ${path}`, { cause });
  }
  if (!Array.isArray(doc.issuers) || doc.issuers.length === 0) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `${path} needs a non-empty "issuers" array`);
  }
  const maxTokenBytes = doc.maxTokenBytes === undefined ? undefined : Number(doc.maxTokenBytes);
  return { issuers: doc.issuers as TrustedIssuer[], ...(maxTokenBytes === undefined ? {} : { maxTokenBytes }) };
}
