// Names of the tables result columns come from, for masking (row-masking.ts): RowDescription
// gives a column's table OID and attribute number, the target's catalog gives their names.
//
// The query, in the extended protocol with the OIDs as one array parameter:
//   Parse, Bind($1 = '{oid,...}'), Execute, Sync
//   -> ParseComplete, BindComplete, DataRow* (oid, nspname, relname, attnum, attname),
//      CommandComplete, ReadyForQuery; or ErrorResponse then ReadyForQuery.
//
// Answers are cached per connection (a database: OIDs are per database) for a short time, and
// dropped when a session on that connection completes DDL that can rename or drop columns,
// tables or schemas. DDL run on the target behind the gateway's back is seen once the entry
// expires (`ttlMs`).
import { serialize } from 'pg-protocol';
import { GatewayError } from '@agentgate/errors';
import { decodeErrorFields, type BackendFrame } from '@agentgate/pg-wire';
import type { CatalogReply } from './catalog-connection.js';
import { dataRowValues } from './response-pump.js';
import type { RelationInfo } from './row-masking.js';

export const RELATION_SQL =
  'SELECT c.oid, n.nspname, c.relname, a.attnum, a.attname FROM pg_catalog.pg_class c ' +
  'JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ' +
  'JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid ' +
  'WHERE c.oid = ANY ($1::pg_catalog.oid[]) AND a.attnum > 0 AND NOT a.attisdropped';

/** Parse + Bind + Execute + Sync of the relation query for these table OIDs. */
export function relationMessages(oids: readonly number[]): Buffer {
  return Buffer.concat([
    serialize.parse({ text: RELATION_SQL }),
    serialize.bind({ values: [`{${oids.join(',')}}`] }),
    serialize.execute({}),
    serialize.sync(),
  ]);
}

/** Folds the answer to relationMessages into relations by OID (tables not found are absent). */
export class RelationReply implements CatalogReply<Map<number, RelationInfo>> {
  private readonly relations = new Map<number, { schema: string; table: string; columns: Map<number, string> }>();
  private error: string | undefined;

  push(frame: BackendFrame): { done: true; answer: Map<number, RelationInfo> } | { done: false } {
    switch (frame.type) {
      case 'D': {
        const [oid, schema, table, attnum, attname] = dataRowValues(frame.raw);
        if (oid == null || schema == null || table == null || attnum == null || attname == null) {
          this.error ??= 'the catalog answered with an unexpected row';
          return { done: false };
        }
        const key = Number(oid);
        let r = this.relations.get(key);
        if (!r) {
          r = { schema, table, columns: new Map() };
          this.relations.set(key, r);
        }
        r.columns.set(Number(attnum), attname);
        return { done: false };
      }
      case 'E':
        this.error ??= `the target refused the catalog query: ${decodeErrorFields(frame.raw).code}`;
        return { done: false };
      case 'Z':
        if (this.error) throw new GatewayError('AG_ERR_MASKING_UNSUPPORTED', this.error);
        return { done: true, answer: this.relations };
      default:
        return { done: false };
    }
  }
}

/** Command tags after which names of tables, columns or schemas may have changed. */
const RENAMING_TAGS = /^(ALTER|DROP) (TABLE|VIEW|MATERIALIZED VIEW|FOREIGN TABLE|SCHEMA|TYPE)\b|^(CREATE OR REPLACE|CREATE) VIEW\b/;

/** Whether a completed command may have renamed or dropped what the cache names. */
export function invalidatesRelations(commandTag: string): boolean {
  return RENAMING_TAGS.test(commandTag);
}

interface Entry {
  relation: RelationInfo | undefined;
  at: number;
}

/** The relation cache of all connections (pure bookkeeping; the query is injected). */
export class RelationCatalog {
  private readonly byConnection = new Map<string, Map<number, Entry>>();

  constructor(private readonly options: { ttlMs: number; maxEntriesPerConnection: number; now: () => number }) {}

  /**
   * Names the tables `oids` on `connection`, querying what the cache does not hold (or holds
   * expired). The lookup function answers for every OID it was given.
   */
  async resolve(
    connection: string,
    oids: readonly number[],
    query: (missing: readonly number[]) => Promise<Map<number, RelationInfo>>,
  ): Promise<(oid: number) => RelationInfo | undefined> {
    const now = this.options.now();
    let cache = this.byConnection.get(connection);
    if (!cache) {
      cache = new Map();
      this.byConnection.set(connection, cache);
    }
    const known = new Map<number, RelationInfo | undefined>();
    const missing: number[] = [];
    for (const oid of new Set(oids)) {
      const e = cache.get(oid);
      if (e && now - e.at < this.options.ttlMs) known.set(oid, e.relation);
      else missing.push(oid);
    }
    if (missing.length > 0) {
      const answer = await query(missing);
      if (cache.size + missing.length > this.options.maxEntriesPerConnection) cache.clear();
      for (const oid of missing) {
        const relation = answer.get(oid);
        cache.set(oid, { relation, at: now });
        known.set(oid, relation);
      }
    }
    return (oid) => known.get(oid);
  }

  /** Forgets what is cached for `connection` (after DDL there). */
  invalidate(connection: string): void {
    this.byConnection.delete(connection);
  }
}
