// What SQL-level prepared statements and cursors a statement uses or changes. PREPARE and
// DECLARE create a prepared statement or a portal (the same namespaces the extended protocol
// uses), EXECUTE and FETCH run what they hold, DEALLOCATE, CLOSE and DISCARD drop them. A
// statement that runs something is decided on what it runs, so EXECUTE and FETCH are resolved
// to the PREPARE or DECLARE text behind them. Pure: reads the parse trees and the state given.
import type { StatementInfo } from '@agentgate/sql';

/** What the server holds, by name: the SQL text behind each prepared statement and portal. */
export interface NamedSql {
  statements: ReadonlyMap<string, { sql: string }>;
  portals: ReadonlyMap<string, { sql: string }>;
}

/** How a statement changes the names once it has run. */
export type SqlLevelEffect =
  | { kind: 'prepare'; name: string; sql: string }
  | { kind: 'declare'; name: string; sql: string }
  | { kind: 'deallocate'; name: string | null }
  | { kind: 'close-cursor'; name: string | null }
  | { kind: 'discard-all' };

/** One statement's references, resolved. */
export interface SqlReferences {
  /** The text of the PREPARE or DECLARE this statement runs (EXECUTE, FETCH, MOVE); null when it runs none. */
  runs: string | null;
  /** Set when it executes a prepared statement whose text the gateway cannot know. */
  unknownStatement: string | null;
  effect: SqlLevelEffect | null;
}

function name(tree: Record<string, unknown>, key: string): string | null {
  const value = tree[key];
  return typeof value === 'string' && value !== '' ? value : null;
}

/**
 * Resolves the statements of one query string in order. A PREPARE or DECLARE earlier in the
 * same string counts for an EXECUTE or FETCH after it: if it fails, the rest of the string
 * does not run. A FETCH of a cursor the gateway never saw (a refcursor a function opened) runs
 * nothing new: its query ran, and was decided, where it was opened.
 */
export function resolveSqlReferences(
  statements: readonly Pick<StatementInfo, 'kind' | 'text' | 'tree'>[],
  known: NamedSql,
): SqlReferences[] {
  // Names created (text) or dropped (null) earlier in the string shadow what the server held.
  const prepared = new Map<string, string | null>();
  const cursors = new Map<string, string | null>();
  let allPreparedDropped = false;
  let allCursorsDropped = false;
  const preparedSql = (n: string): string | undefined =>
    prepared.has(n) ? (prepared.get(n) ?? undefined) : allPreparedDropped ? undefined : known.statements.get(n)?.sql;
  const cursorSql = (n: string): string | undefined =>
    cursors.has(n) ? (cursors.get(n) ?? undefined) : allCursorsDropped ? undefined : known.portals.get(n)?.sql;
  return statements.map((st): SqlReferences => {
    const none: SqlReferences = { runs: null, unknownStatement: null, effect: null };
    switch (st.kind) {
      case 'ExecuteStmt': {
        const n = name(st.tree, 'name') ?? '';
        const sql = preparedSql(n);
        return sql === undefined ? { ...none, unknownStatement: n } : { ...none, runs: sql };
      }
      case 'FetchStmt': {
        const n = name(st.tree, 'portalname') ?? '';
        return { ...none, runs: cursorSql(n) ?? null };
      }
      case 'PrepareStmt': {
        const n = name(st.tree, 'name');
        if (n === null) return none;
        prepared.set(n, st.text);
        return { ...none, effect: { kind: 'prepare', name: n, sql: st.text } };
      }
      case 'DeclareCursorStmt': {
        const n = name(st.tree, 'portalname');
        if (n === null) return none;
        cursors.set(n, st.text);
        return { ...none, effect: { kind: 'declare', name: n, sql: st.text } };
      }
      case 'DeallocateStmt': {
        const n = st.tree['isall'] === true ? null : name(st.tree, 'name');
        if (n === null) {
          prepared.clear();
          allPreparedDropped = true;
        } else prepared.set(n, null);
        return { ...none, effect: { kind: 'deallocate', name: n } };
      }
      case 'ClosePortalStmt': {
        const n = name(st.tree, 'portalname');
        if (n === null) {
          cursors.clear();
          allCursorsDropped = true;
        } else cursors.set(n, null);
        return { ...none, effect: { kind: 'close-cursor', name: n } };
      }
      case 'DiscardStmt':
        // DISCARD PLANS, SEQUENCES and TEMP leave prepared statements and cursors alone.
        if (st.tree['target'] !== 'DISCARD_ALL') return none;
        prepared.clear();
        cursors.clear();
        allPreparedDropped = true;
        allCursorsDropped = true;
        return { ...none, effect: { kind: 'discard-all' } };
      default:
        return none;
    }
  });
}
