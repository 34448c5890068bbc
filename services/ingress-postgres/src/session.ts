// One agent connection: the PostgreSQL front end on one side, the target on the other,
// the audit log in between. Every statement goes: RequestObserved durable -> verdict ->
// (allow) target; the target's rows stream to the agent as they come, and the statement's
// ResponseObserved is durable before its completion message (CommandComplete, ErrorResponse)
// is released. Nothing reaches the target without a durable request and an allow verdict.
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { randomInt, timingSafeEqual } from 'node:crypto';
import { GatewayError, toGatewayError, type ErrorCode } from '@agentgate/errors';
import type { Actor, VerdictIssued } from '@agentgate/events';
import {
  FrontendParser,
  authenticationCleartextPassword,
  authenticationOk,
  backendKeyData,
  decodePasswordMessage,
  decodeParameterStatus,
  errorResponse,
  MAX_AUTH_MESSAGE_BYTES,
  negotiateProtocolVersion,
  noticeResponse,
  parameterStatus,
  readyForQuery,
  sslResponse,
  type FrontendMessage,
  type StartupMessage,
} from '@agentgate/pg-wire';
import type { AsyncSqlParser } from '@agentgate/sql';
import { auditActor } from '@agentgate/identity';
import type { Logger } from '@agentgate/observability';
import type { IngressConfig } from './config.js';
import { admitConnection, type ConnectionCatalog, type PostgresConnection, type TargetLogin } from './connections.js';
import { type AuditSink, type MaskingPlans, resolveCredential, SessionAudit } from '@agentgate/ingress-core';
import { ResponsePump } from './response-pump.js';
import { corkedWrite } from './cork.js';
import { hintFor, sqlStateFor } from './sqlstate.js';
import { clientWantsNotices, decideStartupParameters, type StartupParameter } from './startup-parameters.js';
import type { ResolvedFunction } from './function-resolver.js';
import { StatementFlow } from './statement-flow.js';
import { connectStages } from './stage-metrics.js';
import { invalidatesRelations } from './relation-catalog.js';
import { type ResultMasking, startResultMasking } from './result-masking.js';
import type { StatementDigester } from './statement-digest.js';
import type { RelationInfo } from './row-masking.js';
import { openUpstream, TargetStartupError, type UpstreamSession } from './upstream.js';
import type { VerdictFeed } from '@agentgate/ingress-core';

/** What the session needs of a verified identity (libs/identity's VerifiedIdentity fits). */
export interface AgentIdentity {
  subject: string;
  issuer: string;
  groups: string[];
  actChain: { subject: string; issuer: string | null; clientId: string | null }[];
  tokenId: string | null;
  expiresAt: Date;
}

/** Verifies the access token an agent presents as its password. */
export interface IdentityVerifier {
  verify(token: string): Promise<AgentIdentity>;
}

export interface SessionDeps {
  config: Readonly<IngressConfig>;
  identity: IdentityVerifier;
  /** Admits an authenticated identity under the session limits; returns a release function, or throws AG_ERR_SESSION_LIMIT. */
  admit?: (identity: AgentIdentity) => () => void;
  /** Counts target connections per connection name: +1 when one opens, -1 when it is gone. */
  countUpstream?: (connection: string, delta: 1 | -1) => void;
  /** Called once when the session leaves the unauthenticated phase (authenticated, or ended). */
  leftPreAuth?: () => void;
  /** Routes a CancelRequest to the session holding that key (the agent's new connection carries only the key). */
  onCancel?: (processId: number, secretKey: number) => void;
  /** TLS for agents; undefined when no certificate is configured (loopback-only plaintext). */
  tls: SecureContext | undefined;
  catalog: ConnectionCatalog;
  sink: AuditSink;
  ingressTopic: string;
  /** Estimates a statement's blast radius for its approval and records it (app.ts); never awaited. */
  estimateBlastRadius?(
    connection: PostgresConnection,
    login: TargetLogin,
    approval: { approvalId: string; requestId: string; text: string; parameters: (string | null)[] },
  ): void;
  verdicts: VerdictFeed;
  /** Parses off the event loop (a worker pool), so one long statement does not stall other sessions. */
  parser: AsyncSqlParser;
  logger: Logger;
  env: Readonly<Record<string, string | undefined>>;
  newId: () => string;
  nowUs: () => number;
  /** The function a FunctionCall's OID names on the target, for sessions of `connection` logged in as `login` (function-resolver.ts). */
  resolveFunction(connection: PostgresConnection, login: TargetLogin, oid: number): Promise<ResolvedFunction>;
  /** Compiled masking plans by verdict (result-masking.ts); without it, a verdict that masks is refused. */
  maskingPlans?: MaskingPlans;
  /** The keyed statement digest approvals bind to (statement-digest.ts); without it, none is recorded. */
  statementDigest?: StatementDigester;
  /** Names the tables `oids` of `connection` on the target, as `login` sees them (relation-catalog.ts). */
  resolveRelations?(
    connection: PostgresConnection,
    login: TargetLogin,
    oids: readonly number[],
  ): Promise<(oid: number) => RelationInfo | undefined>;
  /** DDL completed on `connection`: table and column names may have changed. */
  invalidateRelations?(connection: string): void;
}

type Phase = 'startup' | 'awaiting-password' | 'authenticating' | 'ready' | 'closing' | 'closed';

// Backpressure on the agent: past this many bytes of parsed messages waiting for their turn
// the agent's socket is paused, and resumed below the low mark. A single message larger than
// the mark is still taken whole (up to the message size limit).
const AGENT_HIGH_WATER_BYTES = 1024 * 1024;
const AGENT_LOW_WATER_BYTES = 256 * 1024;

export class AgentSession {
  readonly sessionId: string;
  private readonly parser: FrontendParser;
  private readonly log: Logger;
  private phase: Phase = 'startup';
  private audit: SessionAudit | undefined;
  private upstream: UpstreamSession | undefined;
  private readonly queue: FrontendMessage[] = [];
  private queuedBytes = 0;
  private agentPaused = false;
  private draining = false;
  private preAuthLeft = false;
  private startupReceived = false;
  private readonly openedAtUs: number;
  /** The agent-facing stream: the TCP socket, or the TLS socket over it after SSLRequest. */
  private stream: Socket;
  private tlsActive = false;
  private startup: StartupMessage | undefined;
  private identity: AgentIdentity | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private readonly onStreamData = (chunk: Buffer): void => this.onData(chunk);
  private pump: ResponsePump | undefined;
  private release: (() => void) | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** The statements of the session once logged in. */
  private flow: StatementFlow | undefined;
  /** The key this session hands the agent for CancelRequest. */
  readonly cancelKey = { processId: randomInt(1, 2 ** 31 - 1), secretKey: randomInt(1, 2 ** 31 - 1) };

  constructor(
    private readonly socket: Socket,
    private readonly deps: SessionDeps,
  ) {
    this.sessionId = deps.newId();
    this.openedAtUs = deps.nowUs();
    // Until login completes, typed messages are password messages, read under the server's
    // PG_MAX_AUTH_TOKEN_LENGTH; the configured query limit applies from ReadyForQuery on.
    this.parser = new FrontendParser({ maxMessageBytes: MAX_AUTH_MESSAGE_BYTES });
    this.log = deps.logger.child({ sessionId: this.sessionId, client: `${socket.remoteAddress}:${socket.remotePort}` });
    this.stream = socket;
    socket.setNoDelay(true);
    socket.on('data', this.onStreamData);
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'client socket error'));
    socket.on('close', () => void this.finish({ reason: 'client-disconnect', code: null }));
    // Like PostgreSQL's authentication_timeout: a half-open startup must not hold a slot.
    const startupTimer = setTimeout(() => {
      // Like the server, silent before a StartupMessage; a client waiting on its password prompt is told.
      if (this.phase === 'startup') this.closeSilently('startup-timeout');
      else if (this.phase === 'awaiting-password') {
        void this.fatal(new GatewayError('AG_ERR_PROTOCOL_VIOLATION', `startup not completed within ${deps.config.startupTimeoutMs} ms`));
      }
    }, deps.config.startupTimeoutMs);
    startupTimer.unref();
    socket.once('close', () => {
      clearTimeout(startupTimer);
      clearTimeout(this.expiryTimer);
    });
  }

  private readonly enqueue = (message: FrontendMessage): void => {
    if (message.type === 'Startup') this.startupReceived = true;
    this.queue.push(message);
    this.queuedBytes += message.raw.length;
  };

  private onData(chunk: Buffer): void {
    if (this.phase === 'closing' || this.phase === 'closed') return;
    const error = this.parser.parse(chunk, this.enqueue);
    if (error) {
      if (!this.startupReceived) {
        // Before a StartupMessage the server closes on garbage without a reply.
        this.closeSilently('bad-startup');
        return;
      }
      void this.fatal(this.withLimitName(error));
      return;
    }
    if (!this.agentPaused && this.queuedBytes > AGENT_HIGH_WATER_BYTES) {
      this.agentPaused = true;
      this.stream.pause();
    }
    void this.drain();
  }

  /** Names the setting behind a size limit, so the agent knows what to raise. */
  private withLimitName(error: GatewayError): GatewayError {
    if (error.code !== 'AG_ERR_MESSAGE_TOO_LARGE') return error;
    // Before login the only typed message is the password, which carries the access token.
    if (this.phase !== 'ready')
      return new GatewayError('AG_ERR_TOKEN_TOO_LARGE', `the password message (an access token) exceeds ${MAX_AUTH_MESSAGE_BYTES} bytes`);
    return new GatewayError('AG_ERR_MESSAGE_TOO_LARGE', `${error.message} (AG_PG_MAX_MESSAGE_BYTES)`);
  }

  private resumeParser(): void {
    const error = this.parser.parse(Buffer.alloc(0), this.enqueue);
    if (error) throw error;
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0 && this.phase !== 'closing' && this.phase !== 'closed') {
        const message = this.queue.shift()!;
        this.queuedBytes -= message.raw.length;
        if (this.agentPaused && this.queuedBytes < AGENT_LOW_WATER_BYTES) {
          this.agentPaused = false;
          this.stream.resume();
        }
        await this.handle(message);
        // Backpressure towards the agent: while the target reads slower than the agent
        // writes, wait here; the queue then fills and pauses the agent's socket.
        if (this.upstream?.congested) await this.upstream.drained();
      }
    } catch (err) {
      await this.fatal(toGatewayError(err));
    } finally {
      this.draining = false;
    }
  }

  private async handle(message: FrontendMessage): Promise<void> {
    if (this.phase === 'startup') return this.handleStartupPhase(message);
    if (this.phase === 'awaiting-password') {
      if (message.type !== 'PasswordLike')
        throw new GatewayError('AG_ERR_PROTOCOL_VIOLATION', `expected a password message, got ${message.type}`);
      return this.authenticate(decodePasswordMessage(message.payload));
    }
    this.armIdleTimer();
    return this.flow!.handle(message);
  }

  private async handleStartupPhase(message: FrontendMessage): Promise<void> {
    switch (message.type) {
      case 'SSLRequest':
        if (this.deps.tls && !this.tlsActive) return this.startTls(this.deps.tls);
        this.write(sslResponse(false));
        // The parser pauses after these requests; declining, we resume it.
        this.resumeParser();
        return;
      case 'GSSENCRequest':
        this.write(sslResponse(false));
        this.resumeParser();
        return;
      case 'CancelRequest':
        // The server answers a CancelRequest with nothing and closes.
        this.deps.onCancel?.(message.processId, message.secretKey);
        this.closeSilently('cancel-request');
        return;
      case 'Startup':
        return this.requestPassword(message);
      default:
        // A Terminate (node-postgres' connect-then-end) or any typed message before the
        // StartupMessage: the server closes without a reply.
        this.closeSilently('bad-startup');
    }
  }

  /** Closes a connection that never started a session: no reply, nothing to record. */
  private closeSilently(reason: string): void {
    this.log.debug({ reason }, 'connection closed before startup');
    void this.finish({ reason, code: null });
  }

  private startTls(context: SecureContext): void {
    // Bytes sent after SSLRequest but before the handshake would be read as if encrypted
    // (CVE-2021-23214): refuse them.
    if (this.parser.bufferedBytes > 0) throw new GatewayError('AG_ERR_PROTOCOL_VIOLATION', 'data received before the TLS handshake');
    this.socket.off('data', this.onStreamData);
    this.socket.write(sslResponse(true));
    const tls = new TLSSocket(this.socket, { isServer: true, secureContext: context });
    tls.on('error', (err) => {
      this.log.debug({ err: err.message }, 'TLS error');
      this.socket.destroy();
    });
    tls.on('data', this.onStreamData);
    this.stream = tls;
    this.tlsActive = true;
    this.resumeParser();
  }

  private requestPassword(startup: StartupMessage): void {
    const loopback = /^(127\.|::1$|::ffff:127\.)/.test(this.socket.remoteAddress ?? '');
    // The token is a bearer credential: never accept it in cleartext over a network.
    if (!this.tlsActive && !loopback) {
      throw new GatewayError('AG_ERR_TLS_REQUIRED', 'connect with TLS (sslmode=require or stronger) to send an access token');
    }
    this.startup = startup;
    this.phase = 'awaiting-password';
    // The gateway speaks protocol 3.0 and no protocol extension; a newer client learns so
    // before authentication, as the server tells it.
    const extensions = Object.keys(startup.parameters).filter((name) => name.startsWith('_pq_.'));
    if (startup.protocolVersion.minor > 0 || extensions.length > 0) this.write(negotiateProtocolVersion(0, extensions));
    this.write(authenticationCleartextPassword());
  }

  private async authenticate(token: string): Promise<void> {
    this.phase = 'authenticating';
    const startedAt = performance.now();
    if (token === '') throw new GatewayError('AG_ERR_AUTH_REQUIRED', 'send an OIDC access token as the password');
    const identity = await this.deps.identity.verify(token);
    if (this.gone()) return;
    const params = this.startup?.parameters ?? {};
    const connectionName = params['database'] ?? params['user'] ?? '';
    // The refusal names only the connections this identity may use (connections.ts).
    const { connection, login } = admitConnection(this.deps.catalog, connectionName, identity.groups);
    if (identity.expiresAt.getTime() <= Date.now()) throw new GatewayError('AG_ERR_TOKEN_EXPIRED');
    const decided = decideStartupParameters(params);
    if (!decided.ok) throw decided.error;
    this.identity = identity;
    this.release = this.deps.admit?.(identity);
    const actor: Actor = auditActor(identity);
    this.log.info(
      { subject: identity.subject, connection: connection.name, targetUser: login.username, tls: this.tlsActive },
      'agent authenticated',
    );
    connectStages.observe('token', (performance.now() - startedAt) / 1000);
    await this.startSession(params, decided.forward, clientWantsNotices(decided.settings), connection, login, actor);
    // startSession released what it had if the session ended meanwhile.
    if ((this.phase as Phase) !== 'ready') return;
    connectStages.observe('total', (performance.now() - startedAt) / 1000);
    // Continuous authorization: the session ends when the token does.
    const remaining = identity.expiresAt.getTime() - Date.now();
    this.expiryTimer = setTimeout(
      () => {
        void this.terminate('AG_ERR_TOKEN_EXPIRED', 'token-expired');
      },
      Math.max(remaining, 0),
    );
    this.expiryTimer.unref();
  }

  private async startSession(
    params: Record<string, string>,
    forward: StartupParameter[],
    wantsNotices: boolean,
    connection: PostgresConnection,
    login: TargetLogin,
    actor: Actor,
  ): Promise<void> {
    this.audit = new SessionAudit({
      sink: this.deps.sink,
      topic: this.deps.ingressTopic,
      sessionId: this.sessionId,
      producer: this.deps.config.instanceId,
      actor,
      newEventId: this.deps.newId,
      nowUs: this.deps.nowUs,
    });
    const openingAt = performance.now();
    await this.audit.record(
      'SessionOpened',
      {
        protocol: 'postgres',
        connection: connection.name,
        targetHost: connection.host,
        targetPort: connection.port,
        targetDatabase: connection.database,
        clientAddress: this.socket.remoteAddress ?? '',
        clientPort: this.socket.remotePort ?? 0,
        clientTls: this.tlsActive,
        clientApplication: params['application_name'] ?? null,
        ingressInstance: this.deps.config.instanceId,
        startupParameters: forward,
        targetUser: login.username,
      },
      this.deps.config.auditWriteTimeoutMs,
    );
    if (this.gone()) return;
    this.log.info({ connection: connection.name }, 'session opened');
    const loginAt = performance.now();
    connectStages.observe('session-opened', (loginAt - openingAt) / 1000);

    const upstream = await this.loginUpstream(connection, login, forward);
    connectStages.observe('upstream-login', (performance.now() - loginAt) / 1000);
    this.upstream = upstream;
    this.deps.countUpstream?.(connection.name, 1);
    upstream.onClose(() => this.deps.countUpstream?.(connection.name, -1));
    if (this.gone()) return;
    const audit = this.audit;
    this.pump = new ResponsePump(
      this.upstream.nextFrame,
      {
        write: (bytes) => (this.stream.destroyed ? true : corkedWrite(this.stream, bytes)),
        drained: () =>
          new Promise((resolve) => {
            if (this.stream.destroyed || !this.stream.writableNeedDrain) resolve();
            else this.stream.once('drain', () => resolve());
          }),
      },
      {
        record: async (response, outcome) => {
          await audit.record('ResponseObserved', response.summary(outcome), this.deps.config.auditWriteTimeoutMs);
        },
        ended: (err, targetEnded) => void this.upstreamEnded(err, targetEnded),
        parameterStatus: (name, value) => this.flow?.onParameterStatus(name, value),
        ready: (status) => this.flow?.onReady(status),
        completed: (tag) => {
          if (invalidatesRelations(tag)) this.deps.invalidateRelations?.(connection.name);
        },
      },
      this.upstream.takeFrame,
    );
    this.flow = new StatementFlow({
      config: this.deps.config,
      parser: this.deps.parser,
      verdicts: this.deps.verdicts,
      newId: this.deps.newId,
      audit,
      pump: this.pump,
      upstream,
      connectionName: connection.name,
      resolveFunction: (oid) => this.deps.resolveFunction(connection, login, oid),
      maskingFor: (verdict) => this.maskingFor(verdict, connection, login),
      ...(this.deps.statementDigest ? { statementDigest: this.deps.statementDigest } : {}),
      estimateBlastRadius: (approval) => this.deps.estimateBlastRadius?.(connection, login, approval),
      errorFrame: (severity, error, detail) => this.errorFrame(severity, error, detail),
      checkTokenStillValid: () => this.checkTokenStillValid(),
      end: () => this.finish({ reason: 'client-terminate', code: null }),
    });
    this.write(authenticationOk());
    for (const frame of this.upstream.parameterFrames) {
      const { name, value } = decodeParameterStatus(frame);
      this.flow.onParameterStatus(name, value);
      this.write(frame);
    }
    // The id to find this session in the audit log, as a run-time parameter any client can read.
    this.write(parameterStatus('agentgate.session_id', this.sessionId));
    // The agent gets a key of the gateway's own, never the target's; the gateway maps it.
    this.write(backendKeyData(this.cancelKey.processId, this.cancelKey.secretKey));
    if (wantsNotices && this.deps.config.sessionNotice) {
      this.write(
        noticeResponse({
          severity: 'NOTICE',
          code: '00000',
          message: `agentgate: session ${this.sessionId} is audited`,
          detail: `identity=${actor.subject}; connection=${connection.name}`,
        }),
      );
    }
    this.write(readyForQuery('I'));
    this.phase = 'ready';
    this.parser.maxMessageBytes = this.deps.config.maxMessageBytes;
    this.leavePreAuth();
    this.armIdleTimer();
    void this.pump.run();
  }

  /** The masking a verdict plans for this session's statement (see StatementFlowDeps.maskingFor). */
  private maskingFor(verdict: VerdictIssued, connection: PostgresConnection, login: TargetLogin): ResultMasking | undefined {
    if (verdict.maskingPlan.length === 0) return undefined;
    const plans = this.deps.maskingPlans;
    const resolve = this.deps.resolveRelations;
    if (!plans || !resolve)
      throw new GatewayError('AG_ERR_MASKING_UNSUPPORTED', 'policy masks this result and this gateway applies no masking');
    const plan = plans.forVerdict(verdict.maskingPlan);
    if (!plan) return undefined;
    return startResultMasking(plan, connection.name, (oids) => resolve.call(this.deps, connection, login, oids));
  }

  /**
   * Logs in to the target as the session's target role. A credential or login failure reaches
   * the agent as its code's generic message; the reason (a path, the target's own words, which
   * name the role) goes to the operator's log only, never a secret.
   */
  private async loginUpstream(connection: PostgresConnection, login: TargetLogin, forward: StartupParameter[]): Promise<UpstreamSession> {
    try {
      return await openUpstream({
        tls: connection.tls,
        host: connection.host,
        port: connection.port,
        database: connection.database,
        username: login.username,
        password: resolveCredential(login.credential, this.deps.env),
        auth: connection.auth,
        parameters: forward,
        connectTimeoutMs: this.deps.config.upstreamConnectTimeoutMs,
        maxMessageBytes: this.deps.config.maxMessageBytes,
      });
    } catch (err) {
      const error = toGatewayError(err, 'AG_ERR_UPSTREAM_UNAVAILABLE');
      const cause = error.cause instanceof Error ? error.cause.message : undefined;
      this.log.warn(
        { code: error.code, connection: connection.name, targetUser: login.username, reason: cause ?? error.message },
        'target login failed',
      );
      // The agent learns what failed, not where the target is or what its credential is: the
      // address, the path and the target's own words stay in the operator's log above.
      if (
        error.code === 'AG_ERR_UPSTREAM_AUTH_FAILED' ||
        error.code === 'AG_ERR_CREDENTIAL_UNAVAILABLE' ||
        error.code === 'AG_ERR_UPSTREAM_UNAVAILABLE'
      ) {
        throw new GatewayError(error.code);
      }
      throw error;
    }
  }

  /**
   * The target's side is gone. When the target ended the session with its own FATAL (say
   * 57P01 from pg_terminate_backend), the agent already has that error and nothing is added;
   * otherwise the agent learns that the target went away.
   */
  private async upstreamEnded(err: unknown, targetEnded: boolean): Promise<void> {
    if (targetEnded) return this.finish({ reason: 'target-ended', code: null });
    const error = toGatewayError(err, 'AG_ERR_UPSTREAM_CLOSED');
    // The target's socket closed under us: say so plainly, not as an audit outage.
    const plain =
      error.code === 'AG_ERR_UPSTREAM_UNAVAILABLE'
        ? new GatewayError('AG_ERR_UPSTREAM_CLOSED', `the target closed the connection unexpectedly (${error.message})`)
        : error;
    return this.fatal(plain, plain.code === 'AG_ERR_UPSTREAM_CLOSED' ? 'upstream-closed' : 'error');
  }

  private leavePreAuth(): void {
    if (this.preAuthLeft) return;
    this.preAuthLeft = true;
    this.deps.leftPreAuth?.();
  }

  /** Ends the session after the idle timeout, counting only time with nothing in flight. */
  private armIdleTimer(): void {
    const timeout = this.deps.config.idleTimeoutMs;
    if (timeout <= 0) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.pump?.busy) this.armIdleTimer();
      else void this.terminate('AG_ERR_IDLE_TIMEOUT', 'idle-timeout', `no activity for ${timeout} ms`);
    }, timeout);
    this.idleTimer.unref();
  }

  /**
   * True when the session ended while authentication was waiting (the agent left, a bad
   * byte arrived): whatever that wait produced is released here, since finish() ran before it.
   */
  private gone(): boolean {
    if (this.phase === 'authenticating') return false;
    this.releaseAfterUpstream();
    return true;
  }

  /**
   * Closes the target connection and releases the session's slot once it is gone, so that
   * sessions ending faster than their target backends cannot exceed the limits.
   */
  private releaseAfterUpstream(): void {
    const release = this.release;
    this.release = undefined;
    const upstream = this.upstream;
    if (!upstream) {
      release?.();
      return;
    }
    upstream.onClose(() => release?.());
    upstream.close(this.pump?.busy ?? false);
  }

  private checkTokenStillValid(): void {
    if (this.identity && this.identity.expiresAt.getTime() <= Date.now()) {
      throw new GatewayError(
        'AG_ERR_TOKEN_EXPIRED',
        `the access token expired at ${this.identity.expiresAt.toISOString()}; reconnect with a fresh token`,
      );
    }
  }

  /** Cancels the statement running on the target (the agent sent CancelRequest with our key). */
  cancelRunning(): void {
    void this.upstream?.cancel();
  }

  /** Whether a CancelRequest's key is this session's (constant-time compare). */
  matchesCancelKey(processId: number, secretKey: number): boolean {
    const a = Buffer.alloc(8);
    a.writeInt32BE(this.cancelKey.processId, 0);
    a.writeInt32BE(this.cancelKey.secretKey, 4);
    const b = Buffer.alloc(8);
    b.writeInt32BE(processId | 0, 0);
    b.writeInt32BE(secretKey | 0, 4);
    return timingSafeEqual(a, b);
  }

  private write(bytes: Buffer): void {
    if (!this.stream.destroyed) corkedWrite(this.stream, bytes);
  }

  private errorFrame(severity: 'ERROR' | 'FATAL', error: GatewayError, detail?: string): Buffer {
    // The target's own refusal reaches the agent as the target sent it.
    if (error instanceof TargetStartupError) return error.frame;
    return errorResponse({
      severity,
      code: sqlStateFor(error.code),
      message: `agentgate: ${error.message}`,
      detail: detail ?? `code=${error.code}; session=${this.sessionId}`,
      hint: hintFor(error.code),
    });
  }

  /** Ends the session with a FATAL ErrorResponse; the target never sees what was pending. */
  private async fatal(error: GatewayError, reason = 'error'): Promise<void> {
    if (this.phase === 'closing' || this.phase === 'closed') return;
    this.log.warn({ code: error.code }, 'session ended by error');
    this.write(this.errorFrame('FATAL', error));
    await this.finish({ reason, code: error.code });
  }

  private async finish(close: { reason: string; code: ErrorCode | null }): Promise<void> {
    if (this.phase === 'closing' || this.phase === 'closed') return;
    this.phase = 'closing';
    this.leavePreAuth();
    this.queue.length = 0;
    this.queuedBytes = 0;
    // Whatever the agent still sends is read and dropped until the socket closes.
    if (this.agentPaused) this.stream.resume();
    clearTimeout(this.expiryTimer);
    clearTimeout(this.idleTimer);
    this.pump?.stop();
    this.releaseAfterUpstream();
    if (!this.stream.destroyed) this.stream.end();
    // A peer that never closes its side (or never finishes a TLS handshake) must not hold the slot.
    setTimeout(() => {
      this.stream.destroy();
      this.socket.destroy();
    }, 1000).unref();
    if (this.audit) {
      try {
        // Best effort: a session that ends because the log is down cannot record its end.
        await this.audit.record(
          'SessionClosed',
          {
            reason: close.reason,
            errorCode: close.code,
            durationUs: this.deps.nowUs() - this.openedAtUs,
            requestCount: this.flow?.requestCount ?? 0,
          },
          Math.min(this.deps.config.auditWriteTimeoutMs, 2000),
        );
      } catch (err) {
        this.log.warn({ code: toGatewayError(err).code }, 'session close not recorded');
      }
    }
    this.phase = 'closed';
    this.log.info({ reason: close.reason, requests: this.flow?.requestCount ?? 0 }, 'session closed');
  }

  /** Ends the session from the server side (shutdown, token expiry, admin kill). */
  terminate(code: ErrorCode, reason: string, message?: string): Promise<void> {
    return this.fatal(new GatewayError(code, message), reason);
  }

  get closed(): boolean {
    return this.phase === 'closed';
  }
}
