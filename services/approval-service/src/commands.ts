// Runs decider commands against the store: decide on the current state, chain, write, and fold
// the written events in only once Kafka has acknowledged them (house style 15: the state mirrors
// what the log confirmed, not what was sent).
import type { AuditEvent } from '@agentgate/events';
import { GatewayError, type ErrorCode } from '@agentgate/errors';
import type { ApprovalStore } from './approval-store.js';
import { chainOnto } from './chain.js';
import { decide, type Command } from './decide.js';

/** Appends chained events to the log; resolves once every one is acknowledged. */
export type Commit = (events: readonly AuditEvent[]) => Promise<void>;

export type CommandOutcome = { ok: true; events: AuditEvent[] } | { ok: false; code: ErrorCode; events: AuditEvent[] };

export interface CommandRunner {
  /** Approve or deny one approval. A write failure is refused with AG_ERR_AUDIT_UNAVAILABLE. */
  decide(command: Exclude<Command, { kind: 'expire' }>): Promise<CommandOutcome>;
  /** Expires every pending approval past its time; returns the events written. */
  expire(nowUs: number): Promise<AuditEvent[]>;
}

export function createCommandRunner(store: ApprovalStore, commit: Commit): CommandRunner {
  async function run(approvalId: string, command: Command): Promise<CommandOutcome> {
    return store.exclusive(approvalId, async () => {
      const result = decide(command, store.state);
      const events = chainOnto(store.state, result.events);
      if (events.length > 0) {
        try {
          await commit(events);
        } catch {
          // Not written, or not known to be: nothing is folded in. Should it have landed after
          // all, the consumer reads it back and the state catches up from the log.
          return { ok: false, code: 'AG_ERR_AUDIT_UNAVAILABLE', events: [] };
        }
        store.apply(events);
      }
      return result.ok ? { ok: true, events } : { ok: false, code: result.code, events };
    });
  }
  return {
    decide: (command) => run(command.approvalId, command),
    async expire(nowUs) {
      // Which approvals are due is read outside the locks; each is then re-decided under its own
      // lock, so an expiry never chains past a decision written meanwhile.
      const due = decide({ kind: 'expire', nowUs }, store.state).events.map((e) => e.sessionId);
      const written: AuditEvent[] = [];
      for (const approvalId of due) {
        const outcome = await run(approvalId, { kind: 'expire', nowUs, approvalId });
        if (!outcome.ok) throw new GatewayError(outcome.code, 'an expiry could not be written');
        written.push(...outcome.events);
      }
      return written;
    },
  };
}
