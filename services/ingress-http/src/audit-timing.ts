// Times the audit port of a session whose code we do not instrument inline (the MCP gateway):
// each operation's duration from handed over to durable (and, for decide, verdict in hand).
import type { StartExchangeAudit } from './exchange-audit.js';

/** The audit operations timed, as stage names. */
export type AuditStage = 'session-opened' | 'request+verdict' | 'response' | 'session-closed';

/** `start` with every operation's duration told to `observe` (milliseconds), failures included. */
export function timedAudit(start: StartExchangeAudit, observe: (stage: AuditStage, ms: number) => void): StartExchangeAudit {
  const timed =
    <A, R>(stage: AuditStage, op: (arg: A) => Promise<R>) =>
    async (arg: A): Promise<R> => {
      const at = performance.now();
      try {
        return await op(arg);
      } finally {
        observe(stage, performance.now() - at);
      }
    };
  return (sessionId, actor) => {
    const audit = start(sessionId, actor);
    return {
      open: timed('session-opened', (p) => audit.open(p)),
      decide: timed('request+verdict', (p) => audit.decide(p)),
      respond: timed('response', (p) => audit.respond(p)),
      close: timed('session-closed', (p) => audit.close(p)),
    };
  };
}
