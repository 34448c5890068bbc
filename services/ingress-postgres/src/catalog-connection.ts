// Connections of the gateway's own to a target's catalog, as the same target role a session
// logged in as (so a role resolves only what it can see), never the agent's session connection:
// a query there could change or abort the agent's transaction.
//
// One connection per (connection, target role) and purpose, opened when first needed with the
// ingress's upstream login (TLS and SCRAM as the catalog says), one query at a time, closed
// after a short idle time or at once after a failure or timeout (a later query opens a new one).
import { GatewayError, type ErrorCode } from '@agentgate/errors';
import type { BackendFrame } from '@agentgate/pg-wire';
import type { Logger } from '@agentgate/observability';
import type { PostgresConnection, TargetLogin } from './connections.js';
import { openUpstream, type UpstreamSession } from './upstream.js';

/** Folds the target's answer to one query, frame by frame, until ReadyForQuery. */
export interface CatalogReply<T> {
  push(frame: BackendFrame): { done: true; answer: T } | { done: false };
}

export interface CatalogConnectionOptions {
  connectTimeoutMs: number;
  /** Budget for one query, connecting included; past it the query fails (closed). */
  queryTimeoutMs: number;
  /** An unused connection is closed after this long. */
  idleCloseMs: number;
  maxMessageBytes: number;
  env: Readonly<Record<string, string | undefined>>;
  resolvePassword: (credential: string, env: Readonly<Record<string, string | undefined>>) => string;
  logger: Logger;
  /** What the target's pg_stat_activity shows for these connections. */
  applicationName: string;
  /** The code a query that times out fails with. */
  timeoutCode: ErrorCode;
}

/** One catalog connection of a (connection, target role). */
class CatalogConnection {
  private upstream: Promise<UpstreamSession> | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: PostgresConnection,
    private readonly login: TargetLogin,
    private readonly options: CatalogConnectionOptions,
  ) {}

  /** Sends `messages` (ending in Sync) after every query queued before it and folds the answer. */
  query<T>(messages: Buffer, reply: CatalogReply<T>): Promise<T> {
    const run = this.tail.then(() => this.run(messages, reply));
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

  private async run<T>(messages: Buffer, reply: CatalogReply<T>): Promise<T> {
    clearTimeout(this.idleTimer);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new GatewayError(this.options.timeoutCode, `no answer within ${this.options.queryTimeoutMs} ms`)),
        this.options.queryTimeoutMs,
      );
    });
    try {
      const answer = await Promise.race([this.exchange(messages, reply), timeout]);
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

  private async exchange<T>(messages: Buffer, reply: CatalogReply<T>): Promise<T> {
    this.upstream ??= this.open();
    let upstream = await this.upstream;
    // The target may have ended an idle connection (restart, pg_terminate_backend).
    if (upstream.closed) {
      this.upstream = this.open();
      upstream = await this.upstream;
    }
    upstream.send(messages);
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
        { name: 'application_name', value: this.options.applicationName },
        { name: 'client_encoding', value: 'UTF8' },
      ],
      connectTimeoutMs: this.options.connectTimeoutMs,
      maxMessageBytes: this.options.maxMessageBytes,
    });
    this.options.logger.debug(
      { connection: c.name, targetUser: this.login.username, purpose: this.options.applicationName },
      'catalog connection opened',
    );
    return upstream;
  }
}

/** Catalog connections by (connection, target role). */
export class CatalogConnections {
  private readonly connections = new Map<string, CatalogConnection>();

  constructor(private readonly options: CatalogConnectionOptions) {}

  /** Runs one query for sessions of `connection` logged in as `login`. */
  query<T>(connection: PostgresConnection, login: TargetLogin, messages: Buffer, reply: CatalogReply<T>): Promise<T> {
    const key = `${connection.name}\u0000${login.username}`;
    let c = this.connections.get(key);
    if (!c) {
      c = new CatalogConnection(connection, login, this.options);
      this.connections.set(key, c);
    }
    return c.query(messages, reply);
  }

  close(): void {
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
  }
}
