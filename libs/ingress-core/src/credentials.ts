// Target credentials are held by reference (env:NAME or file:/path), never inline: resolved at
// the moment of use, from the environment the service parsed at start.
import { readFileSync } from 'node:fs';
import { GatewayError } from '@agentgate/errors';

/**
 * Resolves a credential reference to the secret. The secret is returned, never logged. The
 * error's message is what an agent may read: it names neither the reference nor the path;
 * the cause (for the operator's log) does.
 */
export function resolveCredential(reference: string, env: Readonly<Record<string, string | undefined>>): string {
  const [scheme, ...rest] = reference.split(':');
  const target = rest.join(':');
  try {
    if (scheme === 'env') {
      const value = env[target];
      if (value === undefined || value === '') throw new Error(`environment variable ${target} is not set`);
      return value;
    }
    if (scheme === 'file') return readFileSync(target, 'utf8').replace(/\r?\n$/, '');
  } catch (cause) {
    throw new GatewayError('AG_ERR_CREDENTIAL_UNAVAILABLE', 'the credential for this connection could not be resolved', {
      cause: new Error(`credential ${scheme}:${target}: ${(cause as Error).message}`),
    });
  }
  throw new GatewayError('AG_ERR_CREDENTIAL_UNAVAILABLE', 'the credential for this connection could not be resolved', {
    cause: new Error(`unknown credential scheme ${scheme}`),
  });
}
