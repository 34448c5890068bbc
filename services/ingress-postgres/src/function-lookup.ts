// The adapter behind function-resolver.ts: asks the target's catalog which function an OID
// names, on a catalog connection of the gateway's own (catalog-connection.ts).
//
// The query, in the extended protocol with the OID as a parameter:
//   Parse, Bind($1 = oid as text), Execute, Sync
//   -> ParseComplete '1', BindComplete '2', DataRow 'D'? (nspname, proname), CommandComplete 'C',
//      ReadyForQuery 'Z'; or ErrorResponse 'E' then ReadyForQuery.
import { serialize } from 'pg-protocol';
import { GatewayError } from '@agentgate/errors';
import { decodeErrorFields, type BackendFrame } from '@agentgate/pg-wire';
import { CatalogConnections, type CatalogConnectionOptions, type CatalogReply } from './catalog-connection.js';
import type { PostgresConnection, TargetLogin } from './connections.js';
import type { CatalogAnswer } from './function-resolver.js';
import { dataRowValues } from './response-pump.js';

/** The catalog query, as the server resolves a FunctionCall's OID (fastpath.c reads pg_proc by OID). */
export const LOOKUP_SQL =
  'SELECT n.nspname, p.proname FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = $1';
const OID_TYPE = 26;

/** Parse + Bind + Execute + Sync of the catalog query for one OID. */
export function lookupMessages(oid: number): Buffer {
  return Buffer.concat([
    serialize.parse({ text: LOOKUP_SQL, types: [OID_TYPE] }),
    serialize.bind({ values: [String(oid)] }),
    serialize.execute({}),
    serialize.sync(),
  ]);
}

/**
 * Folds the target's answer to lookupMessages, frame by frame. Returns undefined while more is
 * expected, the answer at ReadyForQuery; throws AG_ERR_FUNCTION_LOOKUP_FAILED on an error.
 */
export class LookupReply implements CatalogReply<CatalogAnswer> {
  private row: (string | null)[] | undefined;
  private error: string | undefined;

  push(frame: BackendFrame): { done: true; answer: CatalogAnswer } | { done: false } {
    switch (frame.type) {
      case 'D':
        if (this.row) this.error ??= 'the catalog returned more than one function for one OID';
        this.row = dataRowValues(frame.raw);
        return { done: false };
      case 'E':
        this.error ??= `the target refused the catalog query: ${decodeErrorFields(frame.raw).code}`;
        return { done: false };
      case 'Z': {
        if (this.error) throw new GatewayError('AG_ERR_FUNCTION_LOOKUP_FAILED', this.error);
        if (!this.row) return { done: true, answer: null };
        const [schema, name] = this.row;
        if (this.row.length !== 2 || typeof schema !== 'string' || typeof name !== 'string') {
          throw new GatewayError('AG_ERR_FUNCTION_LOOKUP_FAILED', 'the catalog answered with an unexpected row');
        }
        return { done: true, answer: { schema, name } };
      }
      default:
        // ParseComplete, BindComplete, CommandComplete, notices, parameter reports.
        return { done: false };
    }
  }
}

export type FunctionLookupOptions = Omit<CatalogConnectionOptions, 'applicationName' | 'timeoutCode' | 'queryTimeoutMs'> & {
  /** Budget for one lookup, connecting included; past it the lookup fails (closed). */
  lookupTimeoutMs: number;
};

/** Function lookups on catalog connections by (connection, target role). */
export class FunctionLookups {
  private readonly connections: CatalogConnections;

  constructor(options: FunctionLookupOptions) {
    const { lookupTimeoutMs, ...rest } = options;
    this.connections = new CatalogConnections({
      ...rest,
      queryTimeoutMs: lookupTimeoutMs,
      applicationName: 'agentgate function lookup',
      timeoutCode: 'AG_ERR_FUNCTION_LOOKUP_FAILED',
    });
  }

  /** A lookup for sessions of `connection` logged in as `login`. */
  lookupFor(connection: PostgresConnection, login: TargetLogin): (oid: number) => Promise<CatalogAnswer> {
    return (oid) => this.connections.query(connection, login, lookupMessages(oid), new LookupReply());
  }

  close(): void {
    this.connections.close();
  }
}
