// Classifications kept by statement shape (sql-shape.ts): a text that differs from one already
// parsed only in its literals and comments gets that parse's kinds and facts, with its own
// statement texts, and is not parsed again.
//
// Only what holds for every text of the shape is kept: kinds, nested kinds, facts, and where
// each statement starts and ends (as offsets in the key, mapped back into each text). Facts that
// read a literal's value (statement-facts.ts, onLiteralRead) and unparseable results are never
// kept. A tree holds literal values, so a hit's tree is parsed from its own text when first read,
// by `treeOf`; a cache without one serves callers that read facts only (the policy processor).
import { GatewayError } from '@agentgate/errors';
import { deepFreeze, type LocatedStatement, pgTrim, type SqlClassification, type StatementInfo } from './classification.js';
import { LruCache } from './lru-cache.js';
import { keyOffset, type SqlShape, textOffset } from './sql-shape.js';

type KeptStatement = Omit<LocatedStatement<null>, 'tree' | 'readsLiterals'>;

/** What every text of a shape shares: its statements' kinds, facts and edges (as key offsets). */
interface Kept {
  statements: readonly KeptStatement[];
  statementKind: string;
  statementKinds: readonly string[];
}

type TreeOf = (sql: string, index: number) => Record<string, unknown>;

export interface ShapeCacheOptions {
  maxEntries: number;
  /** Bytes of keys the cache may hold (each entry also holds its facts, small and flat). */
  maxKeyBytes?: number;
  /** Statement `index` of `sql`'s parse tree; without it a hit's tree cannot be read. */
  treeOf?: TreeOf;
}

/** A statement answered by shape: shared kinds and facts, its own text; its tree parsed from its own text when read. */
class ShapedStatement implements StatementInfo {
  private parsed: Record<string, unknown> | undefined;

  constructor(
    readonly kind: string,
    readonly text: string,
    readonly runs: string[],
    readonly facts: StatementInfo['facts'],
    private readonly sql: string,
    private readonly index: number,
    private readonly treeOf: TreeOf | undefined,
  ) {}

  get tree(): Record<string, unknown> {
    if (this.treeOf === undefined)
      throw new GatewayError('AG_ERR_INTERNAL', 'a statement classified by its shape has no parse tree here (facts only)');
    this.parsed ??= this.treeOf(this.sql, this.index);
    return this.parsed;
  }
}

export class ShapeCache {
  private readonly entries: LruCache<Kept>;
  private readonly treeOf: TreeOf | undefined;

  constructor(options: ShapeCacheOptions) {
    this.entries = new LruCache({ maxEntries: options.maxEntries, maxWeight: options.maxKeyBytes ?? 16 * 1024 * 1024 });
    this.treeOf = options.treeOf;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The classification of `sql` from a text of the same shape parsed before, if one was kept. */
  get(sql: string, shape: SqlShape): SqlClassification | undefined {
    const kept = this.entries.get(shape.key);
    if (kept === undefined) return undefined;
    const statements: StatementInfo[] = kept.statements.map(
      (s, index) =>
        new ShapedStatement(
          s.kind,
          pgTrim(sql.slice(textOffset(shape, s.start), textOffset(shape, s.end))),
          s.runs,
          s.facts,
          sql,
          index,
          this.treeOf,
        ),
    );
    Object.freeze(statements);
    return Object.freeze({
      ok: true as const,
      statements: statements,
      statementKind: kept.statementKind,
      statementKinds: kept.statementKinds as string[],
    });
  }

  /** Keeps the parse of a text of this shape, when what it found holds for every text of the shape. */
  remember(shape: SqlShape, located: readonly LocatedStatement<unknown>[]): void {
    if (located.some((s) => s.readsLiterals)) return;
    const statements: KeptStatement[] = [];
    for (const s of located) {
      const start = keyOffset(shape, s.start);
      const end = keyOffset(shape, s.end);
      // A statement edge inside a literal or comment: nothing to map it back to.
      if (start === undefined || end === undefined) return;
      statements.push(deepFreeze({ kind: s.kind, runs: [...s.runs], facts: s.facts, start, end }));
    }
    // The same kinds as classified() gives: each statement's kind, then those it runs.
    const statementKinds = Object.freeze([...new Set(statements.flatMap((s) => [s.kind, ...s.runs]))]);
    const statementKind = statements.length === 0 ? 'EMPTY' : statements.length === 1 ? statementKinds[0]! : 'MULTI';
    this.entries.set(shape.key, { statements, statementKind, statementKinds }, shape.key.length * 2);
  }
}
