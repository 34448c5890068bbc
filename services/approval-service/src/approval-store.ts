// The one mutable cell around the pure state: events read from Kafka and events this service
// wrote (once Kafka acknowledged them) are folded in here. Commands on one approval run one at a
// time, so each chains onto the head the previous one left.
import type { AuditEvent } from '@agentgate/events';
import { applyEvents, EMPTY_STATE, type ApprovalState } from './approval-state.js';

export interface ApprovalStore {
  readonly state: ApprovalState;
  /** Folds events in (idempotent). */
  apply(events: readonly AuditEvent[]): void;
  /** Runs `task` after every earlier task on the same approval has settled. */
  exclusive<T>(approvalId: string, task: () => Promise<T>): Promise<T>;
}

export function createApprovalStore(initial: ApprovalState = EMPTY_STATE): ApprovalStore {
  let state = initial;
  const tails = new Map<string, Promise<unknown>>();
  return {
    get state() {
      return state;
    },
    apply(events) {
      state = applyEvents(state, events);
    },
    exclusive(approvalId, task) {
      const before = tails.get(approvalId) ?? Promise.resolve();
      const run = before.then(task, task);
      const tail = run.then(
        () => undefined,
        () => undefined,
      );
      tails.set(approvalId, tail);
      // The map keeps only approvals with work queued.
      void tail.then(() => {
        if (tails.get(approvalId) === tail) tails.delete(approvalId);
      });
      return run;
    },
  };
}
