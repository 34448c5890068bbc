// Which function a fast-path FunctionCall runs: its OID resolved to a schema-qualified name on
// the target, as the server will resolve it, and the SQL the policy decides on. This module holds
// the cache and the decisions; the catalog query itself runs in function-lookup.ts (the adapter).
//
// Cache rules, per (connection, target role, OID):
// - a built-in function (OID below FirstNormalObjectId, 16384) never changes: kept for good;
// - any other answer, "no such function" included, is kept for a short TTL: a user function
//   can be dropped and its OID reused, or created after a miss;
// - a failed or timed-out lookup is never kept, and fails closed: the call is refused.
import { GatewayError, toGatewayError } from '@agentgate/errors';

/** PostgreSQL's FirstNormalObjectId: OIDs below it are assigned at initdb and never reused. */
export const FIRST_NORMAL_OBJECT_ID = 16384;

/** A function as the target's catalog names it (pg_namespace.nspname, pg_proc.proname). */
export interface ResolvedFunction {
  schema: string;
  name: string;
}

/** What the catalog said about an OID: the function, or null when the role sees no such function. */
export type CatalogAnswer = ResolvedFunction | null;

/** Asks the target's catalog; rejects when the lookup fails or times out. */
export type CatalogLookup = (oid: number) => Promise<CatalogAnswer>;

export interface FunctionResolverOptions {
  /** How long an answer about a non-built-in OID is trusted. */
  ttlMs: number;
  /** Most answers kept; the oldest go first past it (random OIDs must not grow the cache without bound). */
  maxEntries: number;
  now: () => number;
}

interface Entry {
  answer: CatalogAnswer;
  /** Epoch ms after which the answer is asked again; Infinity for built-ins. */
  expiresAt: number;
}

/** Until when an answer fetched at `fetchedAt` may be used. */
export function answerExpiry(oid: number, answer: CatalogAnswer, fetchedAt: number, ttlMs: number): number {
  return answer !== null && oid < FIRST_NORMAL_OBJECT_ID ? Number.POSITIVE_INFINITY : fetchedAt + ttlMs;
}

/** The function an answer names, or the refusal the server would give for an OID it does not know. */
export function functionOrRefusal(oid: number, answer: CatalogAnswer): ResolvedFunction {
  if (answer === null) throw new GatewayError('AG_ERR_FUNCTION_UNKNOWN', `function with OID ${oid} does not exist`);
  return answer;
}

/** Resolves OIDs per (connection, target role) through a cache; one lookup at a time per key and OID. */
export class FunctionResolver {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<CatalogAnswer>>();

  constructor(private readonly options: FunctionResolverOptions) {}

  /**
   * The function `oid` names for sessions of `connection` logged in as `role`. Throws
   * AG_ERR_FUNCTION_UNKNOWN when the catalog has no such function for that role, and
   * AG_ERR_FUNCTION_LOOKUP_FAILED when the lookup fails: either way nothing may run.
   */
  async resolve(connection: string, role: string, oid: number, lookup: CatalogLookup): Promise<ResolvedFunction> {
    const key = `${connection}\u0000${role}\u0000${oid}`;
    const cached = this.entries.get(key);
    if (cached && this.options.now() < cached.expiresAt) return functionOrRefusal(oid, cached.answer);
    if (cached) this.entries.delete(key);
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = lookup(oid).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    let answer: CatalogAnswer;
    try {
      answer = await pending;
    } catch (err) {
      const cause = toGatewayError(err);
      throw new GatewayError('AG_ERR_FUNCTION_LOOKUP_FAILED', `the function with OID ${oid} could not be looked up on the target`, {
        cause,
      });
    }
    this.remember(key, oid, answer);
    return functionOrRefusal(oid, answer);
  }

  /** Answers kept now. */
  get size(): number {
    return this.entries.size;
  }

  private remember(key: string, oid: number, answer: CatalogAnswer): void {
    if (this.entries.has(key)) this.entries.delete(key);
    this.entries.set(key, { answer, expiresAt: answerExpiry(oid, answer, this.options.now(), this.options.ttlMs) });
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}

/** A SQL identifier in double quotes, as quote_ident would write it when quoting is needed. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The statement a FunctionCall is decided and recorded as: a SELECT of the schema-qualified
 * function with its arguments as bound parameters ($1..$n), and a comment naming the fast path
 * and the OID. The server never sees this text; it runs the function by OID.
 */
export function functionCallSql(fn: ResolvedFunction, oid: number, argumentCount: number): string {
  const params = Array.from({ length: argumentCount }, (_, i) => `$${i + 1}`).join(', ');
  return `SELECT ${quoteIdentifier(fn.schema)}.${quoteIdentifier(fn.name)}(${params}) /* fast-path FunctionCall of function OID ${oid} */`;
}
