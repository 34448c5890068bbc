// What the server holds and what an extended-protocol batch will run, for a proxy that must
// decide every statement before any of it reaches the server.
//
// Wire facts ("Extended Query" in the protocol chapter):
//   - Parse creates a prepared statement, Bind a portal from a statement and parameters,
//     Execute runs a portal; Close destroys either. Bind already runs code on the server
//     (parameter input functions, domain checks, planning that folds constant calls), and
//     Parse takes locks, so each is covered by a decision before it is sent.
//   - A named statement lasts until Close or the session's end (SQL DEALLOCATE and DISCARD
//     also drop them, and SQL PREPARE creates them); the unnamed one until the next Parse of
//     the unnamed statement or a simple Query. Portals end with their transaction.
//   - After an error the server discards every message up to Sync, so within one batch it is
//     sound to assume each message succeeds: a failed one stops everything after it.
//   - The server's answers (ParseComplete, BindComplete, CloseComplete, ReadyForQuery) are
//     what changes the confirmed state; a refused Parse leaves the old statement in place.
import type { BindMessage, FrontendMessage } from './frontend-messages.js';
import type { TransactionStatus } from './backend-messages.js';

/** A prepared statement the server confirmed: its SQL text. */
export interface KnownStatement {
  sql: string;
}

/** A portal the server confirmed: the text it runs and the decision that covered its Bind. */
export interface KnownPortal {
  sql: string;
  statement: string;
  /** Opaque id of the audited request whose verdict covered this portal's Bind. */
  requestId: string;
}

/** The statements and portals the server has, as it confirmed them. */
export class ConfirmedProtocolState {
  readonly statements = new Map<string, KnownStatement>();
  readonly portals = new Map<string, KnownPortal>();

  /** ParseComplete for a Parse of `name`. */
  parsed(name: string, sql: string): void {
    this.statements.set(name, { sql });
  }

  /** BindComplete for a Bind of `portal`. */
  bound(portal: string, info: KnownPortal): void {
    this.portals.set(portal, info);
  }

  /** CloseComplete (closing a name that does not exist also succeeds). */
  closed(target: 'S' | 'P', name: string): void {
    if (target === 'S') this.statements.delete(name);
    else this.portals.delete(name);
  }

  /** ReadyForQuery: outside a transaction block no portal survives. */
  ready(status: TransactionStatus): void {
    if (status === 'I') this.portals.clear();
  }

  /** A simple Query is about to be sent: it destroys the unnamed statement and portal. */
  simpleQuery(): void {
    this.statements.delete('');
    this.portals.delete('');
  }

  /**
   * SQL PREPARE, DEALLOCATE and DISCARD change named statements in ways the protocol does not
   * confirm, so the names they touch are forgotten: a later Bind of them is refused, never guessed.
   */
  forget(names: StatementsForgotten): void {
    if (names === 'all') {
      this.statements.clear();
      this.portals.clear();
    } else if (names === 'all-statements') {
      this.statements.clear();
    } else {
      for (const name of names) this.statements.delete(name);
    }
  }
}

/** Names whose prepared statements a query may create or drop behind the protocol's back. */
export type StatementsForgotten = 'all' | 'all-statements' | readonly string[];

/** One decision an extended batch needs before any of it is sent. */
export interface BatchDecision {
  /** The SQL text that will run. */
  sql: string;
  /** 'bind' covers a Bind (and the Parse of its statement in the same batch); 'parse' a Parse no Bind follows. */
  covers: 'bind' | 'parse';
  statementName: string;
  portal: string | null;
  bind: BindMessage | null;
}

/** A message of the batch and the decision, by index, that must allow it; null when none is needed. */
export interface PlannedMessage {
  message: FrontendMessage;
  decision: number | null;
}

/** A message the gateway refuses because it cannot know for certain what it would run. */
export interface BatchRefusal {
  /** Index into `messages` of the refused message; nothing from it on is sent. */
  at: number;
  reason: 'unknown-statement' | 'unknown-portal';
  name: string;
}

/** The plan for one batch: decisions to make, then which messages each allows. */
export interface BatchPlan {
  decisions: BatchDecision[];
  messages: PlannedMessage[];
  refusal: BatchRefusal | null;
}

/**
 * Plans an extended-protocol batch (the messages up to and including Sync or Flush) against
 * the confirmed state: which SQL each Bind and each lone Parse will run. Portals named in
 * `reservedPortals` are the caller's own and refused to the agent. Pure.
 */
export function planExtendedBatch(
  state: ConfirmedProtocolState,
  batch: readonly FrontendMessage[],
  reservedPortals: ReadonlySet<string> = new Set(),
): BatchPlan {
  const statements = new Map<string, string>([...state.statements].map(([name, s]) => [name, s.sql]));
  // Portals bound earlier need no new decision; those bound here point at their decision.
  const portals = new Map<string, number | null>([...state.portals.keys()].map((name) => [name, null]));
  const decisions: BatchDecision[] = [];
  const messages: PlannedMessage[] = [];
  // Parses of this batch whose statement no Bind has used yet, by statement name.
  const loneParses = new Map<string, number>();
  for (let i = 0; i < batch.length; i++) {
    const message = batch[i]!;
    switch (message.type) {
      case 'Parse': {
        statements.set(message.name, message.sql);
        // A later Parse of the same name replaces this one; the earlier still runs, alone.
        const earlier = loneParses.get(message.name);
        if (earlier !== undefined) decideLoneParse(earlier);
        messages.push({ message, decision: null });
        loneParses.set(message.name, messages.length - 1);
        break;
      }
      case 'Bind': {
        if (reservedPortals.has(message.portal))
          return {
            decisions,
            messages: finishLoneParses(),
            refusal: { at: messages.length, reason: 'unknown-portal', name: message.portal },
          };
        const sql = statements.get(message.statement);
        if (sql === undefined)
          return {
            decisions,
            messages: finishLoneParses(),
            refusal: { at: messages.length, reason: 'unknown-statement', name: message.statement },
          };
        const decision =
          decisions.push({ sql, covers: 'bind', statementName: message.statement, portal: message.portal, bind: message }) - 1;
        const parseAt = loneParses.get(message.statement);
        if (parseAt !== undefined) {
          messages[parseAt]!.decision = decision;
          loneParses.delete(message.statement);
        }
        portals.set(message.portal, decision);
        messages.push({ message, decision });
        break;
      }
      case 'Execute': {
        if (!portals.has(message.portal) || reservedPortals.has(message.portal))
          return {
            decisions,
            messages: finishLoneParses(),
            refusal: { at: messages.length, reason: 'unknown-portal', name: message.portal },
          };
        messages.push({ message, decision: portals.get(message.portal) ?? null });
        break;
      }
      case 'Close':
        if (message.target === 'S') statements.delete(message.name);
        else portals.delete(message.name);
        messages.push({ message, decision: null });
        break;
      default:
        messages.push({ message, decision: null });
    }
  }
  return { decisions, messages: finishLoneParses(), refusal: null };

  function decideLoneParse(at: number): void {
    const parse = messages[at]!.message as Extract<FrontendMessage, { type: 'Parse' }>;
    messages[at]!.decision = decisions.push({ sql: parse.sql, covers: 'parse', statementName: parse.name, portal: null, bind: null }) - 1;
  }

  function finishLoneParses(): PlannedMessage[] {
    for (const at of loneParses.values()) decideLoneParse(at);
    loneParses.clear();
    // Decisions are made in message order, so the first denied one is the first to stop the batch.
    const order = messages.map((m) => m.decision).filter((d): d is number => d !== null);
    const renumber = new Map<number, number>();
    for (const d of order) if (!renumber.has(d)) renumber.set(d, renumber.size);
    const sorted = [...renumber.entries()].sort((a, b) => a[1] - b[1]).map(([old]) => decisions[old]!);
    decisions.splice(0, decisions.length, ...sorted);
    for (const m of messages) if (m.decision !== null) m.decision = renumber.get(m.decision)!;
    return messages;
  }
}
