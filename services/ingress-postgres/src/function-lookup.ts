// The adapter behind function-resolver.ts: asks the target's catalog which function an OID
// names, on a connection of the gateway's own to the same target as the same target role the
// session logged in as (so a role resolves only what it can see), never on the agent's session
// connection: a query there could change or abort the agent's transaction.
//
// One lookup connection per (connection, target role), opened when first needed with the
// ingress's upstream login (TLS and SCRAM as the catalog says), one query at a time, closed
// after a short idle time or at once after a failure or timeout (a later lookup opens a new one).
//
// The query, in the extended protocol with the OID as a parameter:
//   Parse, Bind($1 = oid as text), Execute, Sync
//   -> ParseComplete '1', BindComplete '2', DataRow 'D'? (nspname, proname), CommandComplete 'C',
//      ReadyForQuery 'Z'; or ErrorResponse 'E' then ReadyForQuery.
import { serialize } from 'pg-protocol';
import { GatewayError } from '@agentgate/errors';
import { decodeErrorFields, type BackendFrame } from '@agentgate/pg-wire';
import type { Logger } from '@agentgate/observability';
import type { PostgresConnection, TargetLogin } from './connections.js';
import type { CatalogAnswer } from './function-resolver.js';
import { dataRowValues } from './response-pump.js';
import { openUpstream, type UpstreamSession } from './upstream.js';

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
export class LookupReply {
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

export interface FunctionLookupOptions {
  connectTimeoutMs: number;
  /** Budget for one lookup, connecting included; past it the lookup fails (closed). */
  lookupTimeoutMs: number;
  /** An unused lookup connection is closed after this long. */
  idleCloseMs: number;
  maxMessageBytes: number;
  env: Readonly<Record<string, string | undefined>>;
  resolvePassword: (credential: string, env: Readonly<Record<string, string | undefined>>) => string;
  logger: Logger;
}

/** One lookup connection of a (connection, target role). */
class LookupConnection {
  private upstream: Promise<UpstreamSession> | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: PostgresConnection,
    private readonly login: TargetLogin,
    private readonly options: FunctionLookupOptions,
  ) {}

  /** Runs after every lookup queued before it. */
  lookup(oid: number): Promise<CatalogAnswer> {
    const run = this.tail.then(() => this.run(oid));
    this.tail = run.catch(() => undefined);
    return run;
  }

  close(): void {
    clearTimeout(this.idleTimer);
    const upstream = this.upstream;
    this.upstream = undefined;
    void upstream?.then(
      (u) => u.close(true),
      () => undefined,
    );
  }

  private async run(oid: number): Promise<CatalogAnswer> {
    clearTimeout(this.idleTimer);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new GatewayError('AG_ERR_FUNCTION_LOOKUP_FAILED', `no answer within ${this.options.lookupTimeoutMs} ms`)),
        this.options.lookupTimeoutMs,
      );
    });
    try {
      const answer = await Promise.race([this.query(oid), timeout]);
      this.idleTimer = setTimeout(() => this.close(), this.options.idleCloseMs);
      this.idleTimer.unref();
      return answer;
    } catch (err) {
      // The connection's state is unknown after a failure or a timeout: start over next time.
      this.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async query(oid: number): Promise<CatalogAnswer> {
    this.upstream ??= this.open();
    let upstream = await this.upstream;
    // The target may have ended an idle lookup connection (restart, pg_terminate_backend).
    if (upstream.closed) {
      this.upstream = this.open();
      upstream = await this.upstream;
    }
    upstream.send(lookupMessages(oid));
    const reply = new LookupReply();
    for (;;) {
      const step = reply.push(await upstream.nextFrame());
      if (step.done) return step.answer;
    }
  }

  private async open(): Promise<UpstreamSession> {
    const c = this.connection;
    const upstream = await openUpstream({
      tls: c.tls,
      host: c.host,
      port: c.port,
      database: c.database,
      username: this.login.username,
      password: this.options.resolvePassword(this.login.credential, this.options.env),
      auth: c.auth,
      parameters: [
        { name: 'application_name', value: 'agentgate function lookup' },
        { name: 'client_encoding', value: 'UTF8' },
      ],
      connectTimeoutMs: this.options.connectTimeoutMs,
      maxMessageBytes: this.options.maxMessageBytes,
    });
    this.options.logger.debug({ connection: c.name, targetUser: this.login.username }, 'function lookup connection opened');
    return upstream;
  }
}

/** Lookup connections by (connection, target role). */
export class FunctionLookups {
  private readonly connections = new Map<string, LookupConnection>();

  constructor(private readonly options: FunctionLookupOptions) {}

  /** A lookup for sessions of `connection` logged in as `login`. */
  lookupFor(connection: PostgresConnection, login: TargetLogin): (oid: number) => Promise<CatalogAnswer> {
    const key = `${connection.name}\u0000${login.username}`;
    let lookup = this.connections.get(key);
    if (!lookup) {
      lookup = new LookupConnection(connection, login, this.options);
      this.connections.set(key, lookup);
    }
    const chosen = lookup;
    return (oid) => chosen.lookup(oid);
  }

  close(): void {
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
  }
}
