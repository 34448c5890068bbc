// The digest an approval binds to: one statement, exactly as the agent sent it, with its bound
// parameters. Keyed (HMAC-SHA256 under a key derived from the gateway's masking key): the audit
// log keeps the digest beside the redacted text, and a plain digest would let anyone holding
// the log find a redacted value again by hashing candidates.
import { createHmac } from 'node:crypto';
import type { MaskingKeyRing } from '@agentgate/masking';

/** Computes statement digests; null without a key (approvals then cannot bind to a statement). */
export type StatementDigester = (text: string, resolvedText: string | null, parameters: readonly (string | null)[]) => string | null;

/** A digester under `keyRing.current`, or one that gives null when there is no key. */
export function statementDigester(keyRing: MaskingKeyRing | undefined): StatementDigester {
  if (!keyRing) return () => null;
  // A key of its own for this use: a digest never equals a token made with the masking key.
  const key = createHmac('sha256', keyRing.current.secret).update('agentgate statement digest v1').digest();
  return (text, resolvedText, parameters) =>
    createHmac('sha256', key)
      .update(JSON.stringify([text.trim(), resolvedText?.trim() ?? null, parameters]))
      .digest('hex');
}
