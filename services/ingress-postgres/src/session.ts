// One agent connection: the PostgreSQL front end on one side, the target on the other,
// the audit log in between. Every statement goes: RequestObserved durable -> verdict ->
// (allow) target; the target's rows stream to the agent as they come, and the statement's
// ResponseObserved is durable before its completion message (CommandComplete, ErrorResponse)
// is released. Nothing reaches the target without a durable request and an allow verdict.
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { randomInt, timingSafeEqual } from 'node:crypto';
import { GatewayError, toGatewayError, type ErrorCode } from '@agentgate/errors';
import type { Actor, AuditEventOf, ResponseObserved, SqlRequest, VerdictIssued } from '@agentgate/events';
import { withDeadline } from '@agentgate/kafka';
import {
  FrontendParser, authenticationCleartextPassword, authenticationOk, backendKeyData, decodePasswordMessage,
  ConfirmedProtocolState, decodeParameterStatus, errorResponse, MAX_AUTH_MESSAGE_BYTES, planExtendedBatch, type BatchDecision, type BatchPlan,
  type BatchRefusal, type PlannedMessage, type StatementsForgotten, negotiateProtocolVersion, noticeResponse, parameterStatus, readyForQuery,
  sslResponse, type FrontendMessage, type StartupMessage,
} from '@agentgate/pg-wire';
import { serialize } from 'pg-protocol';
import type { SqlParser } from '@agentgate/sql';
import type { Logger } from '@agentgate/observability';
import type { IngressConfig } from './config.js';
import { resolveCredential, type ConnectionCatalog, type PostgresConnection } from './connections.js';
import { SessionAudit, type AuditSink, type ChainWriter } from './audit-log.js';
import { ResponsePump, StatementResponse, type SampleLimits } from './response-pump.js';
import { corkedWrite } from './cork.js';
import { auditedParameters, auditedText } from './audit-text.js';
import { DEFAULT_LEXING, lexingDependsOnSettings, unfollowableLexing, withParameterStatus, type LexingSettings } from './lexing.js';
import { hintFor, sqlStateFor } from './sqlstate.js';
import { clientWantsNotices, decideStartupParameters, type StartupParameter } from './startup-parameters.js';
import { openUpstream, TargetStartupError, type UpstreamSession } from './upstream.js';
import type { VerdictFeed } from './verdict-feed.js';

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
  admit?: (subject: string) => () => void;
  /** Called once when the session leaves the unauthenticated phase (authenticated, or ended). */
  leftPreAuth?: () => void;
  /** Routes a CancelRequest to the session holding that key (the agent's new connection carries only the key). */
  onCancel?: (processId: number, secretKey: number) => void;
  /** TLS for agents; undefined when no certificate is configured (loopback-only plaintext). */
  tls: SecureContext | undefined;
  catalog: ConnectionCatalog;
  sink: AuditSink;
  ingressTopic: string;
  verdicts: VerdictFeed;
  parser: SqlParser;
  logger: Logger;
  env: Readonly<Record<string, string | undefined>>;
  newId: () => string;
  nowUs: () => number;
}

type Phase = 'startup' | 'awaiting-password' | 'authenticating' | 'ready' | 'closing' | 'closed';

// Backpressure on the agent: past this many bytes of parsed messages waiting for their turn
// the agent's socket is paused, and resumed below the low mark. A single message larger than
// the mark is still taken whole (up to the message size limit).
const AGENT_HIGH_WATER_BYTES = 1024 * 1024;
const AGENT_LOW_WATER_BYTES = 256 * 1024;
// Bound parameters in a RequestObserved: per value, and all together.
const MAX_PARAMETER_CHARS = 1024;
const MAX_PARAMETERS_CHARS = 64 * 1024;

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
  private skipUntilSync = false;
  private requestCount = 0;
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
  private connectionName: string | null = null;
  /** What the target holds, as it confirmed it (ParseComplete, BindComplete, CloseComplete, ReadyForQuery). */
  private readonly protocol = new ConfirmedProtocolState();
  /** Extended-protocol messages held until Sync or Flush, then decided and sent together. */
  private batch: FrontendMessage[] = [];
  /** Responses of portals that are executing or suspended (fetch size), by portal name. */
  private readonly portalResponses = new Map<string, StatementResponse>();
  /** standard_conforming_strings and client_encoding as the target last reported them. */
  private lexing: LexingSettings = DEFAULT_LEXING;
  /** The key this session hands the agent for CancelRequest. */
  readonly cancelKey = { processId: randomInt(1, 2 ** 31 - 1), secretKey: randomInt(1, 2 ** 31 - 1) };

  constructor(private readonly socket: Socket, private readonly deps: SessionDeps) {
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
    if (this.phase !== 'ready') return new GatewayError('AG_ERR_TOKEN_TOO_LARGE', `the password message (an access token) exceeds ${MAX_AUTH_MESSAGE_BYTES} bytes`);
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
      let message: FrontendMessage | undefined;
      while ((message = this.queue.shift()) !== undefined && this.phase !== 'closing' && this.phase !== 'closed') {
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
      if (message.type !== 'PasswordLike') throw new GatewayError('AG_ERR_PROTOCOL_VIOLATION', `expected a password message, got ${message.type}`);
      return this.authenticate(decodePasswordMessage(message.payload));
    }
    this.armIdleTimer();
    if (this.skipUntilSync) {
      if (message.type === 'Terminate') return this.finish({ reason: 'client-terminate', code: null });
      if (message.type !== 'Sync') return;
      // The agent's Sync ends the batch the server is skipping.
      this.skipUntilSync = false;
      this.pump!.expect({ kind: 'sync' });
      this.upstream!.send(message.raw);
      return;
    }
    const upstream = this.upstream!;
    const pump = this.pump!;
    switch (message.type) {
      case 'Parse':
      case 'Bind':
      case 'Describe':
      case 'Execute':
      case 'Close':
        this.batch.push(message);
        return;
      case 'Sync':
      case 'Flush':
        this.batch.push(message);
        return this.runBatch();
      default:
    }
    // Anything else ends what the agent batched without Sync: the server would have run it first.
    if (this.batch.length > 0) await this.runBatch();
    switch (message.type) {
      case 'Query':
        return this.handleQuery(message.sql, message.raw);
      case 'CopyData':
      case 'CopyDone':
      case 'CopyFail': {
        const current = pump.current;
        if (current) current.copyInBytes += message.raw.length;
        upstream.send(message.raw);
        return;
      }
      case 'Terminate':
        return this.finish({ reason: 'client-terminate', code: null });
      default:
        // FunctionCall runs a function by OID with no statement to audit: refused, with the
        // transaction aborted as a server-side error would.
        return this.refuseSimple(new GatewayError('AG_ERR_UNSUPPORTED', `${message.type} is not supported through agentgate`));
    }
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
    if (token === '') throw new GatewayError('AG_ERR_AUTH_REQUIRED', 'send an OIDC access token as the password');
    const identity = await this.deps.identity.verify(token);
    if (this.gone()) return;
    const params = this.startup?.parameters ?? {};
    const connectionName = params['database'] ?? params['user'] ?? '';
    const connection = this.deps.catalog.get(connectionName);
    if (!connection) {
      throw new GatewayError('AG_ERR_CONNECTION_UNKNOWN', `no connection named "${connectionName}"; known: ${this.deps.catalog.names().join(', ')}`);
    }
    if (!connection.allowedGroups.some((g) => identity.groups.includes(g))) {
      throw new GatewayError('AG_ERR_CONNECTION_FORBIDDEN', `${identity.subject} may not use connection ${connection.name}`);
    }
    if (identity.expiresAt.getTime() <= Date.now()) throw new GatewayError('AG_ERR_TOKEN_EXPIRED');
    const decided = decideStartupParameters(params);
    if (!decided.ok) throw decided.error;
    this.identity = identity;
    this.release = this.deps.admit?.(identity.subject);
    const actor: Actor = {
      subject: identity.subject,
      issuer: identity.issuer,
      groups: [...identity.groups],
      actChain: identity.actChain.map((l) => ({ subject: l.subject, issuer: l.issuer, clientId: l.clientId })),
      tokenId: identity.tokenId,
      authMethod: 'oidc-access-token',
    };
    this.log.info({ subject: identity.subject, connection: connection.name, tls: this.tlsActive }, 'agent authenticated');
    await this.startSession(params, decided.forward, clientWantsNotices(decided.settings), connection, actor);
    // startSession released what it had if the session ended meanwhile.
    if ((this.phase as Phase) !== 'ready') return;
    // Continuous authorization: the session ends when the token does.
    const remaining = identity.expiresAt.getTime() - Date.now();
    this.expiryTimer = setTimeout(() => {
      void this.terminate('AG_ERR_TOKEN_EXPIRED', 'token-expired');
    }, Math.max(remaining, 0));
    this.expiryTimer.unref();
  }

  private async startSession(
    params: Record<string, string>,
    forward: StartupParameter[],
    wantsNotices: boolean,
    connection: PostgresConnection,
    actor: Actor,
  ): Promise<void> {
    this.connectionName = connection.name;
    this.audit = new SessionAudit({
      sink: this.deps.sink,
      topic: this.deps.ingressTopic,
      sessionId: this.sessionId,
      producer: this.deps.config.instanceId,
      actor,
      newEventId: this.deps.newId,
      nowUs: this.deps.nowUs,
    });
    await this.audit.record('SessionOpened', {
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
    }, this.deps.config.auditWriteTimeoutMs);
    if (this.gone()) return;
    this.log.info({ connection: connection.name }, 'session opened');

    const upstream = await openUpstream({
      tls: connection.tls,
      host: connection.host,
      port: connection.port,
      database: connection.database,
      username: connection.username,
      password: resolveCredential(connection.credential, this.deps.env),
      parameters: forward,
      connectTimeoutMs: this.deps.config.upstreamConnectTimeoutMs,
      maxMessageBytes: this.deps.config.maxMessageBytes,
    });
    this.upstream = upstream;
    if (this.gone()) return;
    const audit = this.audit;
    this.pump = new ResponsePump(this.upstream.nextFrame, {
      write: (bytes) => (this.stream.destroyed ? true : corkedWrite(this.stream, bytes)),
      drained: () => new Promise((resolve) => {
        if (this.stream.destroyed || !this.stream.writableNeedDrain) resolve();
        else this.stream.once('drain', () => resolve());
      }),
    }, {
      record: async (response, outcome) => {
        await audit.record('ResponseObserved', response.summary(outcome), this.deps.config.auditWriteTimeoutMs);
      },
      ended: (err, targetEnded) => void this.upstreamEnded(err, targetEnded),
      parameterStatus: (name, value) => {
        this.lexing = withParameterStatus(this.lexing, name, value);
      },
      ready: (status) => {
        this.protocol.ready(status);
        if (status === 'I') this.portalResponses.clear();
      },
    });
    this.write(authenticationOk());
    for (const frame of this.upstream.parameterFrames) {
      const { name, value } = decodeParameterStatus(frame);
      this.lexing = withParameterStatus(this.lexing, name, value);
      this.write(frame);
    }
    // The id to find this session in the audit log, as a run-time parameter any client can read.
    this.write(parameterStatus('agentgate.session_id', this.sessionId));
    // The agent gets a key of the gateway's own, never the target's; the gateway maps it.
    this.write(backendKeyData(this.cancelKey.processId, this.cancelKey.secretKey));
    if (wantsNotices && this.deps.config.sessionNotice) {
      this.write(noticeResponse({
        severity: 'NOTICE',
        code: '00000',
        message: `agentgate: session ${this.sessionId} is audited`,
        detail: `identity=${actor.subject}; connection=${connection.name}`,
      }));
    }
    this.write(readyForQuery('I'));
    this.phase = 'ready';
    this.parser.maxMessageBytes = this.deps.config.maxMessageBytes;
    this.leavePreAuth();
    this.armIdleTimer();
    void this.pump.run();
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
    const plain = error.code === 'AG_ERR_UPSTREAM_UNAVAILABLE' ? new GatewayError('AG_ERR_UPSTREAM_CLOSED', `the target closed the connection unexpectedly (${error.message})`) : error;
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
    this.upstream?.close();
    this.release?.();
    this.release = undefined;
    return true;
  }

  private checkTokenStillValid(): void {
    if (this.identity && this.identity.expiresAt.getTime() <= Date.now()) {
      throw new GatewayError('AG_ERR_TOKEN_EXPIRED', `the access token expired at ${this.identity.expiresAt.toISOString()}; reconnect with a fresh token`);
    }
  }

  /**
   * Records the request and waits for its verdict, inside the chain's turn so the verdict
   * follows its request directly. One budget covers both; past it the agent gets 08006.
   */
  private async decideStatement(writer: ChainWriter, requestId: string, detail: SqlRequest): Promise<AuditEventOf<'VerdictIssued'>> {
    const deadline = Date.now() + this.deps.config.verdictTimeoutMs;
    const verdictPromise = this.deps.verdicts.expect(requestId);
    try {
      const request = await writer.record('RequestObserved', { requestId, protocol: 'postgres', connection: this.connectionName, detail },
        Math.min(this.deps.config.auditWriteTimeoutMs, this.deps.config.verdictTimeoutMs), requestId);
      let verdict: AuditEventOf<'VerdictIssued'>;
      try {
        verdict = await withDeadline(verdictPromise, Math.max(deadline - Date.now(), 1), 'AG_ERR_VERDICT_TIMEOUT', 'verdict');
      } catch (err) {
        writer.abandonVerdict(request);
        throw err;
      }
      writer.adopt(verdict);
      return verdict;
    } finally {
      this.deps.verdicts.cancel(requestId);
    }
  }

  /** Simple query: every statement of the string is its own request and verdict. */
  private async handleQuery(sql: string, raw: Buffer): Promise<void> {
    this.checkTokenStillValid();
    const pump = this.pump!;
    const unreadable = this.checkParseable(sql) ?? (await this.checkLexing([sql]));
    if (unreadable) return this.refuseSimple(unreadable);
    const classification = this.deps.parser.classify(sql);
    // An empty or unparseable string is still one request (policy sees UNPARSEABLE / EMPTY).
    const statements = classification.statements.length > 0
      ? classification.statements.map((st) => ({ text: st.text, kind: st.kind, kinds: [st.kind] }))
      : [{ text: sql, kind: classification.statementKind, kinds: [...classification.statementKinds] }];
    const denied = await this.audit!.exclusive(async (writer) => {
      const allowed: StatementResponse[] = [];
      for (const statement of statements) {
        const requestId = this.deps.newId();
        this.requestCount++;
        const verdict = await this.decideStatement(writer, requestId, this.sqlDetail(statement.text, statement.kind, statement.kinds, 'simple', null, []));
        if (verdict.payload.decision !== 'allow') {
          const error = denialError(verdict.payload);
          await writer.record('ResponseObserved', emptyResponse(requestId, 'denied', error.code, error.message), this.deps.config.auditWriteTimeoutMs);
          // PostgreSQL runs a string as one implicit transaction: an error undoes what ran before
          // it. The gateway refuses before anything runs, so the earlier statements never run.
          for (const r of allowed) {
            r.error = { code: 'not_executed', message: 'a later statement of the same query string was denied' };
            await writer.record('ResponseObserved', r.summary('cancelled'), this.deps.config.auditWriteTimeoutMs);
          }
          return { error, verdict: verdict.payload };
        }
        allowed.push(new StatementResponse(requestId, this.sampleLimits(verdict.payload)));
      }
      this.protocol.simpleQuery();
      this.protocol.forget(statementsTouched(classification.statements));
      pump.expect({ kind: 'simple', responses: allowed, next: 0 });
      this.upstream!.send(raw);
      return undefined;
    });
    if (denied) await this.refuseSimple(denied.error, denialDetail(denied.verdict));
  }

  /**
   * Refuses a simple-protocol message so that the target's transaction ends as if the target
   * had raised the error: a query that cannot parse is sent in its place, and its error is
   * replaced by the gateway's. Inside BEGIN the transaction is then aborted ('E'), as PostgreSQL
   * would leave it, so a later COMMIT cannot commit work done before the refusal.
   */
  private async refuseSimple(error: GatewayError, detail?: string): Promise<void> {
    this.pump!.expect({ kind: 'refused', frame: this.errorFrame('ERROR', error, detail), simple: true });
    this.upstream!.send(REFUSAL_QUERY);
  }

  /**
   * Extended protocol: the batch up to Sync or Flush is planned against what the target
   * confirmed, every Bind (and lone Parse) is recorded and decided before anything of the batch
   * is sent, then the messages go out in order. At the first denial the server gets, in place of
   * the denied message, an Execute of a portal that does not exist: it raises the error itself,
   * so the batch's implicit transaction is rolled back (or the explicit one aborted) exactly as
   * PostgreSQL does after an error, and the agent sees the gateway's error in its place.
   */
  private async runBatch(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    // An Execute may change how the server lexes a Parse that follows it in the same batch
    // (SET standard_conforming_strings): run up to that Parse first, flushed so its answers
    // arrive, and decide the rest under the settings the server then reports.
    const cut = batch.findIndex((m, i) => m.type === 'Parse' && lexingDependsOnSettings(m.sql) && batch.slice(0, i).some((p) => p.type === 'Execute'));
    if (cut <= 0) return this.runBatchPart(batch);
    await this.runBatchPart([...batch.slice(0, cut), FLUSH]);
    const rest = batch.slice(cut);
    if (this.skipUntilSync) {
      // The first part was refused: the server skips the rest up to its Sync.
      const sync = rest.find((m) => m.type === 'Sync');
      if (sync) {
        this.skipUntilSync = false;
        this.pump!.expect({ kind: 'sync' });
        this.upstream!.send(sync.raw);
      }
      return;
    }
    this.batch = rest;
    return this.runBatch();
  }

  private async runBatchPart(batch: readonly FrontendMessage[]): Promise<void> {
    this.checkTokenStillValid();
    const unreadable = await this.checkLexing(batch.flatMap((m) => (m.type === 'Parse' ? [m.sql] : [])));
    if (unreadable) {
      // Nothing of the batch is sent: the server raises the error at its first message.
      return this.refuseBatch(batch, this.errorFrame('ERROR', unreadable));
    }
    const plan = planExtendedBatch(this.protocol, batch, RESERVED_PORTALS);
    const outcome = await this.audit!.exclusive((writer) => this.decideBatch(writer, plan));
    let stopAt = plan.refusal?.at ?? plan.messages.length;
    let refusal: Buffer | undefined;
    if (plan.refusal) refusal = this.errorFrame('ERROR', refusalError(plan.refusal));
    if (outcome.denied) {
      const first = plan.messages.findIndex((m) => m.decision === outcome.denied!.decision);
      if (first !== -1 && first < stopAt) {
        stopAt = first;
        refusal = outcome.denied.frame;
      }
    }
    for (let i = 0; i < stopAt; i++) this.send(plan.messages[i]!, outcome.allowed);
    if (refusal) this.refuseBatch(batch, refusal);
  }

  /** Sends the refusal in place of the batch's next message, then what ends the server's skipping. */
  private refuseBatch(batch: readonly FrontendMessage[], refusal: Buffer): void {
    this.pump!.expect({ kind: 'refused', frame: refusal, simple: false });
    this.upstream!.send(REFUSAL_EXECUTE);
    // The server skips everything up to Sync; the batch's own Sync ends that, or the agent's next one.
    const last = batch.at(-1);
    if (last?.type === 'Sync') {
      this.pump!.expect({ kind: 'sync' });
      this.upstream!.send(last.raw);
    } else {
      if (last?.type === 'Flush') this.upstream!.send(last.raw);
      this.skipUntilSync = true;
    }
  }

  /** Records and decides the batch's requests in order, up to the first denial. */
  private async decideBatch(writer: ChainWriter, plan: BatchPlan): Promise<{ allowed: Allowed[]; denied: { decision: number; frame: Buffer } | undefined }> {
    const allowed: Allowed[] = [];
    for (let d = 0; d < plan.decisions.length; d++) {
      const decision = plan.decisions[d]!;
      const tooLarge = this.checkParseable(decision.sql);
      if (tooLarge) return { allowed, denied: { decision: d, frame: this.errorFrame('ERROR', tooLarge) } };
      const classification = this.deps.parser.classify(decision.sql);
      const requestId = this.deps.newId();
      this.requestCount++;
      const parameters = decision.bind ? auditedParameters(decision.bind.params, decision.bind.paramFormats, MAX_PARAMETER_CHARS, MAX_PARAMETERS_CHARS) : [];
      const detail = this.sqlDetail(decision.sql, classification.statementKind, [...classification.statementKinds], decision.covers === 'bind' ? 'extended' : 'parse', decision.statementName || null, parameters);
      const verdict = await this.decideStatement(writer, requestId, detail);
      if (verdict.payload.decision !== 'allow') {
        const error = denialError(verdict.payload);
        await writer.record('ResponseObserved', emptyResponse(requestId, 'denied', error.code, error.message), this.deps.config.auditWriteTimeoutMs);
        return { allowed, denied: { decision: d, frame: this.errorFrame('ERROR', error, denialDetail(verdict.payload)) } };
      }
      if (classification.ok) this.protocol.forget(statementsTouched(classification.statements));
      allowed.push({ requestId, sql: decision.sql, covers: decision.covers, response: new StatementResponse(requestId, this.sampleLimits(verdict.payload)) });
    }
    return { allowed, denied: undefined };
  }

  /** Sends one planned message, telling the pump what the server will answer and what that confirms. */
  private send(planned: PlannedMessage, allowed: readonly Allowed[]): void {
    const pump = this.pump!;
    const { message } = planned;
    const covering = planned.decision === null ? undefined : allowed[planned.decision];
    switch (message.type) {
      case 'Parse': {
        // A lone Parse's request is answered by ParseComplete; one a Bind covers, by its Execute.
        const lone = covering?.covers === 'parse';
        pump.expect({
          kind: 'single',
          confirmed: () => this.protocol.parsed(message.name, message.sql),
          ...(lone ? { response: covering.response, recordOnSuccess: true } : {}),
        });
        break;
      }
      case 'Bind': {
        const response = covering?.response;
        this.portalResponses.delete(message.portal);
        if (response) this.portalResponses.set(message.portal, response);
        pump.expect({
          kind: 'single',
          confirmed: () => this.protocol.bound(message.portal, { sql: covering?.sql ?? '', statement: message.statement, requestId: covering?.requestId ?? '' }),
          ...(response ? { response } : {}),
        });
        break;
      }
      case 'Execute': {
        let response = this.portalResponses.get(message.portal);
        if (!response) {
          // A portal bound in an earlier batch and already run to completion once.
          const known = this.protocol.portals.get(message.portal);
          response = new StatementResponse(known?.requestId ?? '');
          this.portalResponses.set(message.portal, response);
        }
        pump.expect({ kind: 'execute', response });
        break;
      }
      case 'Describe':
        pump.expect(message.target === 'S' ? { kind: 'describe-statement' } : { kind: 'single' });
        break;
      case 'Close':
        pump.expect({
          kind: 'single',
          confirmed: () => {
            this.protocol.closed(message.target, message.name);
            if (message.target === 'P') this.portalResponses.delete(message.name);
          },
        });
        break;
      case 'Sync':
        pump.expect({ kind: 'sync' });
        break;
      default:
        // Flush: no answer of its own.
        break;
    }
    this.upstream!.send(message.raw);
  }

  private sqlDetail(text: string, kind: string, kinds: string[], messageFlow: string, preparedName: string | null, parameters: (string | null)[]): SqlRequest {
    return {
      kind: 'sql', ...auditedText(text, this.deps.config.auditMaxSqlBytes), textMasked: false, statementKind: kind, statementKinds: kinds,
      fingerprint: null, messageFlow, preparedName, parameters,
    };
  }

  /**
   * The parser's WebAssembly heap grows with the statement and never shrinks, and parsing
   * blocks the event loop: statements over the configured size are refused before parsing,
   * with nothing sent to the target.
   */
  private checkParseable(sql: string): GatewayError | undefined {
    const limit = this.deps.config.maxParsedSqlBytes;
    if (sql.length <= limit / 3) return undefined;
    const bytes = Buffer.byteLength(sql, 'utf8');
    if (bytes <= limit) return undefined;
    return new GatewayError('AG_ERR_STATEMENT_TOO_LARGE', `a statement of ${bytes} bytes exceeds the ${limit} bytes the gateway parses (AG_PG_MAX_PARSED_SQL_BYTES); send large data as bound parameters or with COPY`);
  }

  /**
   * A statement with backslashes or non-ASCII characters is read as the server will read it only
   * under settings the gateway follows. Statements already sent may change those settings, so
   * such a statement waits until the target has answered everything before it, then is checked
   * against the settings the target reported.
   */
  private async checkLexing(texts: readonly string[]): Promise<GatewayError | undefined> {
    if (!texts.some(lexingDependsOnSettings)) return undefined;
    await this.pump!.idle();
    return unfollowableLexing(this.lexing);
  }

  /** Sample rows go into the audit log only when the verdict plans no masking (masking is not applied yet). */
  private sampleLimits(verdict: VerdictIssued): SampleLimits {
    if (verdict.maskingPlan.length > 0) return { rows: 0, bytes: 0 };
    return { rows: this.deps.config.sampleRows, bytes: this.deps.config.sampleBytes };
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
    this.release?.();
    this.release = undefined;
    this.pump?.stop();
    this.upstream?.close();
    if (!this.stream.destroyed) this.stream.end();
    // A peer that never closes its side (or never finishes a TLS handshake) must not hold the slot.
    setTimeout(() => {
      this.stream.destroy();
      this.socket.destroy();
    }, 1000).unref();
    if (this.audit) {
      try {
        // Best effort: a session that ends because the log is down cannot record its end.
        await this.audit.record('SessionClosed', {
          reason: close.reason,
          errorCode: close.code,
          durationUs: this.deps.nowUs() - this.openedAtUs,
          requestCount: this.requestCount,
        }, Math.min(this.deps.config.auditWriteTimeoutMs, 2000));
      } catch (err) {
        this.log.warn({ code: toGatewayError(err).code }, 'session close not recorded');
      }
    }
    this.phase = 'closed';
    this.log.info({ reason: close.reason, requests: this.requestCount }, 'session closed');
  }

  /** Ends the session from the server side (shutdown, token expiry, admin kill). */
  terminate(code: ErrorCode, reason: string, message?: string): Promise<void> {
    return this.fatal(new GatewayError(code, message), reason);
  }

  get closed(): boolean {
    return this.phase === 'closed';
  }
}

/** A decision of an extended batch that was allowed: its request and the response it will get. */
interface Allowed {
  requestId: string;
  sql: string;
  covers: BatchDecision['covers'];
  response: StatementResponse;
}

// Sent in place of a refused message so that the server raises an error there itself. Neither
// runs anything: the query does not parse, and no portal of that name exists, since the
// planner refuses any Bind or Execute of it that an agent sends.
const REFUSAL_PORTAL = 'agentgate refused this message';
const REFUSAL_QUERY = serialize.query('agentgate refused this statement');
const REFUSAL_EXECUTE = serialize.execute({ portal: REFUSAL_PORTAL });
const RESERVED_PORTALS: ReadonlySet<string> = new Set([REFUSAL_PORTAL]);
const FLUSH: FrontendMessage = { type: 'Flush', raw: serialize.flush() };

function refusalError(refusal: BatchRefusal): GatewayError {
  return refusal.reason === 'unknown-statement'
    ? new GatewayError('AG_ERR_STATEMENT_UNKNOWN', `prepared statement "${refusal.name}" is not one the gateway saw the target confirm`)
    : new GatewayError('AG_ERR_PORTAL_UNKNOWN', `portal "${refusal.name}" is not one the gateway saw the target confirm`);
}

/**
 * Prepared-statement names a statement creates or drops at the SQL level (PREPARE, DEALLOCATE,
 * DISCARD), which the protocol never confirms: the gateway forgets them.
 */
function statementsTouched(statements: readonly { kind: string; tree: Record<string, unknown> }[]): StatementsForgotten {
  const names: string[] = [];
  for (const st of statements) {
    if (st.kind === 'DiscardStmt') return 'all';
    if (st.kind === 'DeallocateStmt') {
      if (typeof st.tree['name'] !== 'string' || st.tree['isall'] === true) return 'all';
      names.push(st.tree['name']);
    }
    if (st.kind === 'PrepareStmt' && typeof st.tree['name'] === 'string') names.push(st.tree['name']);
  }
  return names;
}

function denialError(verdict: VerdictIssued): GatewayError {
  if (verdict.decision === 'pending_approval') {
    return new GatewayError('AG_ERR_POLICY_DENIED', `statement needs approval ${verdict.approvalId ?? ''} (approvals are not enabled in this version)`);
  }
  return new GatewayError('AG_ERR_POLICY_DENIED', `statement refused by policy rule ${verdict.ruleId ?? '(default)'}`);
}



function denialDetail(verdict: VerdictIssued): string {
  return `code=${verdict.errorCode ?? 'AG_ERR_POLICY_DENIED'}; rule=${verdict.ruleId ?? 'default'}; policy=${verdict.policyVersion}; request=${verdict.requestId}; reason=${verdict.reason}`;
}

function emptyResponse(requestId: string, outcome: ResponseObserved['outcome'], errorCode: string, errorMessage: string): ResponseObserved {
  return {
    requestId, outcome, commandTags: [], rowCount: 0, columns: [], durationUs: 0, bytes: 0,
    sampleRows: [], sampleTruncated: false, resultDigest: null, errorCode, errorMessage,
  };
}
