// What a parse means for the gateway: the statements of a query string, their kinds, texts and
// trees. Shared by the synchronous classifier (main thread) and the parser pool (the worker
// parses and locates, the main thread assembles), so both cut statements the same way. Imports
// no parser: the worker loads libpg-query itself, after it has arranged to watch its heap.
import { type StatementFacts, statementFacts } from './statement-facts.js';

/** One top-level statement of a query string. */
export interface StatementInfo {
  /** Parser node name: SelectStmt, InsertStmt, DropStmt, TransactionStmt, ... */
  kind: string;
  /** This statement's own text, cut from the query string at the parser's byte offsets. */
  text: string;
  /** The statement's parse tree (libpg-query JSON); policy reads it, events do not carry it. */
  tree: Record<string, unknown>;
  /**
   * Kinds of the statements this one runs inside it, in tree order: the query of PREPARE,
   * DECLARE CURSOR, EXPLAIN, CREATE TABLE AS or COPY (query), a data-modifying WITH, ...
   */
  runs: string[];
  /**
   * What the statement reads, writes, locks and calls, its classes and risky shapes: computed
   * where the tree is (in the parser worker for the pool), so readers need not walk the tree.
   */
  facts: StatementFacts;
}

export type SqlClassification =
  | { ok: true; statements: StatementInfo[]; statementKind: string; statementKinds: string[] }
  | { ok: false; statements: []; statementKind: 'UNPARSEABLE'; statementKinds: []; error: string };

/** A statement as the parser found it, located in the query string by UTF-16 offsets. */
export interface LocatedStatement<Tree = Record<string, unknown>> {
  kind: string;
  /** Kinds of statement nodes nested in the tree (see StatementInfo.runs). */
  runs: string[];
  /** See StatementInfo.facts. */
  facts: StatementFacts;
  /** True when the facts depend on a literal's value: they hold for this text, not its shape. */
  readsLiterals: boolean;
  /** [start, end) in the JavaScript string; the text is this span, trimmed. */
  start: number;
  end: number;
  tree: Tree;
}

/** A tree, or how to build it when it is first read. */
export type TreeSource = Record<string, unknown> | (() => Record<string, unknown>);

/** libpg-query's parse result, as far as classification reads it. */
interface ParseResult {
  stmts?: Array<{ stmt?: Record<string, unknown>; stmt_location?: number; stmt_len?: number }>;
}

/**
 * Kinds of the statement nodes inside a statement's tree (libpg-query names them ...Stmt),
 * without duplicates, in tree order. Iterative: trees can be deeper than the stack.
 */
export function nestedStatementKinds(tree: Record<string, unknown>): string[] {
  const kinds = new Set<string>();
  const stack: unknown[] = [tree];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push(value[i]);
      continue;
    }
    const entries = Object.entries(value as Record<string, unknown>);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      if (/^[A-Z]\w*Stmt$/.test(key) && child !== null && typeof child === 'object' && !Array.isArray(child)) kinds.add(key);
      stack.push(child);
    }
  }
  return [...kinds];
}

/** A classification of a statement that could not be parsed, for whatever reason. */
export function unparseable(error: string): SqlClassification & { ok: false } {
  return { ok: false, statements: [], statementKind: 'UNPARSEABLE', statementKinds: [], error };
}

/** The message of whatever a parser threw (Emscripten's ExitStatus is not an Error). */
export function messageOf(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  const message = (thrown as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(thrown);
}

// PostgreSQL's lexer: space [ \t\n\r\f\v]. Nothing else is whitespace to it: U+00A0 and the
// other Unicode spaces that String.prototype.trim strips are identifier characters.
const PG_EDGE_SPACE = /^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g;

/** Trims what PostgreSQL's lexer treats as whitespace, and nothing else. */
export function pgTrim(text: string): string {
  return text.replace(PG_EDGE_SPACE, '');
}

/**
 * Parses `sql` with `parse` (libpg-query's parseSync) and locates each top-level statement.
 * Throws what `parse` throws. The parser's locations are byte offsets into the UTF-8 text; they
 * become string offsets here, so that a text is a slice of `sql` and multi-byte characters stay
 * whole.
 */
export function parseStatements(sql: string, parse: (sql: string) => unknown): LocatedStatement[] {
  // The parser refuses an empty string; PostgreSQL answers it with EmptyQueryResponse.
  if (pgTrim(sql) === '') return [];
  const stmts = (parse(sql) as ParseResult).stmts ?? [];
  const bytes = Buffer.from(sql, 'utf8');
  // Only ASCII has one byte per UTF-16 unit; then the offsets are the same.
  const ascii = bytes.length === sql.length;
  // Offsets arrive in increasing order: decode only the bytes since the previous one.
  let byteAt = 0;
  let charAt = 0;
  const toChar = (byteOffset: number): number => {
    const offset = Math.min(Math.max(byteOffset, 0), bytes.length);
    if (ascii) return offset;
    if (offset < byteAt) [byteAt, charAt] = [0, 0];
    charAt += bytes.toString('utf8', byteAt, offset).length;
    byteAt = offset;
    return charAt;
  };
  return stmts.map((s) => {
    const node = s.stmt ?? {};
    const kind = Object.keys(node)[0] ?? 'Unknown';
    const startByte = s.stmt_location ?? 0;
    // A length of 0 means "to the end".
    const endByte = s.stmt_len ? startByte + s.stmt_len : bytes.length;
    const tree = (node[kind] ?? {}) as Record<string, unknown>;
    // `parse` also reads the string bodies of LANGUAGE sql functions.
    let readsLiterals = false;
    const facts = statementFacts(tree, { kind, parse, onLiteralRead: () => (readsLiterals = true) });
    return { kind, runs: nestedStatementKinds(tree), facts, readsLiterals, start: toChar(startByte), end: toChar(endByte), tree };
  });
}

/** Assembles the classification of `sql` from its located statements; a tree given as a function is built on first read. */
export function classified(sql: string, located: readonly LocatedStatement<TreeSource>[]): SqlClassification {
  const statements = located.map((s): StatementInfo => {
    const text = pgTrim(sql.slice(s.start, s.end));
    const source = s.tree;
    const runs = [...s.runs];
    const { facts } = s;
    if (typeof source !== 'function') return { kind: s.kind, text, runs, facts, tree: source };
    let tree: Record<string, unknown> | undefined;
    const statement = { kind: s.kind, text, runs, facts } as StatementInfo;
    Object.defineProperty(statement, 'tree', { enumerable: true, get: () => (tree ??= source()) });
    return statement;
  });
  // Each statement's kind, then the kinds it runs inside it: what a policy must see.
  const statementKinds = [...new Set(statements.flatMap((s) => [s.kind, ...s.runs]))];
  const statementKind = statements.length === 0 ? 'EMPTY' : statements.length === 1 ? statementKinds[0]! : 'MULTI';
  return { ok: true, statements, statementKind, statementKinds };
}

/**
 * Freezes a classification, so that one result can be handed to many callers (the cache,
 * coalesced requests). A tree already built is frozen with it; a tree built on first read is
 * frozen by whoever builds it (the getter is not called here).
 */
export function freezeClassification(c: SqlClassification): SqlClassification {
  for (const s of c.statements) {
    const d = Object.getOwnPropertyDescriptor(s, 'tree');
    if (d && 'value' in d) deepFreeze(d.value);
    deepFreeze(s.facts);
    Object.freeze(s);
  }
  Object.freeze(c.statements);
  Object.freeze(c.statementKinds);
  return Object.freeze(c);
}

/** Freezes a JSON value and everything in it. Iterative: a deep tree would overflow the stack. */
export function deepFreeze<T>(value: T): T {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (typeof v !== 'object' || v === null || Object.isFrozen(v)) continue;
    Object.freeze(v);
    for (const child of Object.values(v)) if (typeof child === 'object' && child !== null) pending.push(child);
  }
  return value;
}
