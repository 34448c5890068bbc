// What the policy must know of a session beyond one request: the role the gateway logged in as
// (`"$user"` in the default search_path) and whether the search_path may have changed. Fed, in
// order, with the session's events (one partition holds a whole session). Once a statement that
// may change the search path (SET search_path, set_config, a DO block or other dynamic SQL, a
// role change) was allowed, unqualified names of the session cannot be resolved any more and
// rules on them fail closed. A session whose opening this processor did not see (it started
// before the processor's consumer position) is treated the same way: its history is unknown.
import type { AuditEvent } from '@agentgate/events';
import type { StatementFacts } from '@agentgate/sql';

export interface SessionKnowledge {
  sessionUser: string | null;
  searchPathKnown: boolean;
}

const UNKNOWN: SessionKnowledge = Object.freeze({ sessionUser: null, searchPathKnown: false });

/** Whether running these statements may leave the session's search_path unknown. */
export function mayChangeSearchPath(facts: readonly StatementFacts[]): boolean {
  return facts.some((f) => f.flags.searchPathChange || f.flags.dynamicSql || f.flags.roleChange);
}

export class SessionContexts {
  private readonly sessions = new Map<string, SessionKnowledge>();

  /** What is known of the session now (before the request being decided). */
  of(sessionId: string): SessionKnowledge {
    return this.sessions.get(sessionId) ?? UNKNOWN;
  }

  /** Folds an event of the session; `ran` are the facts of a request that was allowed. */
  observe(event: AuditEvent, ran: readonly StatementFacts[] = []): void {
    switch (event.eventType) {
      case 'SessionOpened':
        this.sessions.set(event.sessionId, { sessionUser: event.payload.targetUser, searchPathKnown: true });
        return;
      case 'SessionClosed':
        this.sessions.delete(event.sessionId);
        return;
      case 'RequestObserved': {
        const known = this.sessions.get(event.sessionId);
        if (known?.searchPathKnown && mayChangeSearchPath(ran)) this.sessions.set(event.sessionId, { ...known, searchPathKnown: false });
        return;
      }
      default:
        return;
    }
  }

  get size(): number {
    return this.sessions.size;
  }
}
