// The gateway's credential for the upstream, added to a forwarded request. The agent never
// sees it: its own Authorization and Cookie were dropped (headers.ts), and a header of the same
// name it sent is replaced, never joined. Pure: the reference is resolved by the function given.
import { GatewayError } from '@agentgate/errors';
import type { UpstreamAuth } from './connections.js';
import type { HeaderMap } from './headers.js';

// A field value may not hold CR, LF or NUL (RFC 9110 section 5.5): a secret file with one could
// otherwise add headers of its own.
const UNSAFE_VALUE = /[\r\n\0]/;

function unusable(reason: string): GatewayError {
  return new GatewayError('AG_ERR_CREDENTIAL_UNAVAILABLE', 'the credential for this connection could not be resolved', {
    cause: new Error(reason),
  });
}

/** The header that carries the upstream credential; none for type none. Throws AG_ERR_CREDENTIAL_UNAVAILABLE. */
export function upstreamAuthHeader(auth: UpstreamAuth, resolve: (reference: string) => string): [name: string, value: string] | undefined {
  if (auth.type === 'none') return undefined;
  const secret = resolve(auth.credential);
  if (secret === '' || UNSAFE_VALUE.test(secret)) throw unusable('the secret is empty or holds CR, LF or NUL');
  switch (auth.type) {
    case 'bearer':
      return ['authorization', `Bearer ${secret}`];
    case 'basic':
      return ['authorization', `Basic ${Buffer.from(`${auth.username}:${secret}`, 'utf8').toString('base64')}`];
    case 'header':
      return [auth.header, secret];
    default: {
      const never: never = auth;
      throw unusable(`unknown upstream auth ${String((never as { type: string }).type)}`);
    }
  }
}

/** `forwarded` with the upstream credential set (replacing any header of that name). */
export function withUpstreamAuth(forwarded: HeaderMap, auth: UpstreamAuth, resolve: (reference: string) => string): HeaderMap {
  const header = upstreamAuthHeader(auth, resolve);
  if (!header) return forwarded;
  return { ...forwarded, [header[0]]: [header[1]] };
}
