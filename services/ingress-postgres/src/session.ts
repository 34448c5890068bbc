// One agent connection: the PostgreSQL front end on one side, the target on the other,
// the audit log in between. Every statement goes: RequestObserved durable -> verdict ->
// (allow) target -> ResponseObserved durable -> result released to the agent.
//
// Walking-skeleton scope: simple query protocol. Extended protocol, COPY FROM STDIN and
// result streaming answer with a clear error until the full PostgreSQL ingress lands.
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { createHash, randomInt } from 'node:crypto';
import { GatewayError, toGatewayError, type ErrorCode } from '@agentgate/errors';
import type { Actor, AuditEventOf, ResponseObserved, VerdictIssued } from '@agentgate/events';
import { withDeadline } from '@agentgate/kafka';
import {
  FrontendParser, authenticationCleartextPassword, authenticationOk, backendKeyData, decodeCommandComplete,
  decodeErrorFields, decodePasswordMessage, decodeReadyForQuery, decodeRowDescription, errorResponse,
  readyForQuery, sslResponse, type FrontendMessage, type StartupMessage, type TransactionStatus,
} from '@agentgate/pg-wire';
import { serialize } from 'pg-protocol';
import type { SqlParser } from '@agentgate/sql';
import type { Logger } from '@agentgate/observability';
import type { IngressConfig } from './config.js';
import { resolveCredential, type ConnectionCatalog, type PostgresConnection } from './connections.js';
import { SessionAudit, type AuditSink } from './audit-log.js';
import { sqlStateFor } from './sqlstate.js';
import { openUpstream, type UpstreamSession } from './upstream.js';
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

const EXTENDED_PROTOCOL = new Set(['Parse', 'Bind', 'Describe', 'Execute', 'Close', 'Flush']);
const MAX_QUEUED_MESSAGES = 1024;

export class AgentSession {
  readonly sessionId: string;
  private readonly parser: FrontendParser;
  private readonly log: Logger;
  private phase: Phase = 'startup';
  private audit: SessionAudit | undefined;
  private upstream: UpstreamSession | undefined;
  private txStatus: TransactionStatus = 'I';
  private readonly queue: FrontendMessage[] = [];
  private draining = false;
  private skipUntilSync = false;
  private requestCount = 0;
  private readonly openedAtUs: number;
  private closeReason: { reason: string; code: ErrorCode | null } | undefined;
  /** The agent-facing stream: the TCP socket, or the TLS socket over it after SSLRequest. */
  private stream: Socket;
  private tlsActive = false;
  private startup: StartupMessage | undefined;
  private identity: AgentIdentity | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private readonly onStreamData = (chunk: Buffer): void => this.onData(chunk);

  constructor(private readonly socket: Socket, private readonly deps: SessionDeps) {
    this.sessionId = deps.newId();
    this.openedAtUs = deps.nowUs();
    this.parser = new FrontendParser({ maxMessageBytes: deps.config.maxMessageBytes });
    this.log = deps.logger.child({ sessionId: this.sessionId, client: `${socket.remoteAddress}:${socket.remotePort}` });
    this.stream = socket;
    socket.setNoDelay(true);
    socket.on('data', this.onStreamData);
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'client socket error'));
    socket.on('close', () => void this.finish({ reason: 'client-disconnect', code: null }));
    // Like PostgreSQL's authentication_timeout: a half-open startup must not hold a slot.
    const startupTimer = setTimeout(() => {
      if (this.phase === 'startup' || this.phase === 'awaiting-password') {
        void this.fatal(new GatewayError('AG_ERR_PROTOCOL_VIOLATION', `startup not completed within ${deps.config.startupTimeoutMs} ms`));
      }
    }, deps.config.startupTimeoutMs);
    startupTimer.unref();
    socket.once('close', () => {
      clearTimeout(startupTimer);
      clearTimeout(this.expiryTimer);
    });
  }

  private onData(chunk: Buffer): void {
    if (this.phase === 'closing' || this.phase === 'closed') return;
    const error = this.parser.parse(chunk, (message) => this.queue.push(message));
    if (error) {
      void this.fatal(error);
      return;
    }
    if (this.queue.length > MAX_QUEUED_MESSAGES) {
      void this.fatal(new GatewayError('AG_ERR_PROTOCOL_VIOLATION', 'too many pipelined messages'));
      return;
    }
    void this.drain();
  }

  private resumeParser(): void {
    const error = this.parser.parse(Buffer.alloc(0), (message) => this.queue.push(message));
    if (error) throw error;
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      let message: FrontendMessage | undefined;
      while ((message = this.queue.shift()) !== undefined && this.phase !== 'closing' && this.phase !== 'closed') {
        await this.handle(message);
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
    if (this.skipUntilSync) {
      if (message.type === 'Sync') {
        this.skipUntilSync = false;
        this.write(readyForQuery(this.txStatus));
      }
      return;
    }
    switch (message.type) {
      case 'Query':
        return this.handleQuery(message.sql);
      case 'Terminate':
        return this.finish({ reason: 'client-terminate', code: null });
      case 'Sync':
        this.write(readyForQuery(this.txStatus));
        return;
      default:
        if (EXTENDED_PROTOCOL.has(message.type)) {
          // Extended protocol rule: after an error, discard until Sync, then ReadyForQuery.
          this.sendError('ERROR', new GatewayError('AG_ERR_UNSUPPORTED', 'the extended query protocol is not supported by this gateway version yet; use the simple protocol'));
          this.skipUntilSync = true;
          return;
        }
        this.sendError('ERROR', new GatewayError('AG_ERR_UNSUPPORTED', `${message.type} is not supported by this gateway version yet`));
        this.write(readyForQuery(this.txStatus));
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
        this.stream.end();
        this.phase = 'closed';
        return;
      case 'Startup':
        return this.requestPassword(message);
      default:
        throw new GatewayError('AG_ERR_PROTOCOL_VIOLATION', `unexpected ${message.type} before startup`);
    }
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
    this.write(authenticationCleartextPassword());
  }

  private async authenticate(token: string): Promise<void> {
    this.phase = 'authenticating';
    if (token === '') throw new GatewayError('AG_ERR_AUTH_REQUIRED', 'send an OIDC access token as the password');
    const identity = await this.deps.identity.verify(token);
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
    this.identity = identity;
    const actor: Actor = {
      subject: identity.subject,
      issuer: identity.issuer,
      groups: [...identity.groups],
      actChain: identity.actChain.map((l) => ({ subject: l.subject, issuer: l.issuer, clientId: l.clientId })),
      tokenId: identity.tokenId,
      authMethod: 'oidc-access-token',
    };
    this.log.info({ subject: identity.subject, connection: connection.name, tls: this.tlsActive }, 'agent authenticated');
    await this.startSession(params, connection, actor);
    // Continuous authorization: the session ends when the token does.
    const remaining = identity.expiresAt.getTime() - Date.now();
    this.expiryTimer = setTimeout(() => {
      void this.terminate('AG_ERR_TOKEN_EXPIRED', 'token-expired');
    }, Math.max(remaining, 0));
    this.expiryTimer.unref();
  }

  private async startSession(params: Record<string, string>, connection: PostgresConnection, actor: Actor): Promise<void> {
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
    }, this.deps.config.auditWriteTimeoutMs);
    this.log.info({ connection: connection.name }, 'session opened');

    this.upstream = await openUpstream({
      tls: connection.tls,
      host: connection.host,
      port: connection.port,
      database: connection.database,
      username: connection.username,
      password: resolveCredential(connection.credential, this.deps.env),
      applicationName: `agentgate:${(params['application_name'] ?? 'agent').slice(0, 40)}`,
      connectTimeoutMs: this.deps.config.upstreamConnectTimeoutMs,
      maxMessageBytes: this.deps.config.maxMessageBytes,
    });
    this.upstream.onClose(() => {
      if (this.phase === 'ready') void this.fatal(new GatewayError('AG_ERR_UPSTREAM_UNAVAILABLE', 'the target closed the connection'), 'upstream-closed');
    });
    this.write(authenticationOk());
    for (const frame of this.upstream.parameterFrames) this.write(frame);
    // The agent gets a key of the gateway's own, never the target's.
    this.write(backendKeyData(randomInt(1, 2 ** 31 - 1), randomInt(1, 2 ** 31 - 1)));
    this.write(readyForQuery('I'));
    this.phase = 'ready';
  }

  private async handleQuery(sql: string): Promise<void> {
    if (this.identity && this.identity.expiresAt.getTime() <= Date.now()) {
      throw new GatewayError('AG_ERR_TOKEN_EXPIRED', `the access token expired at ${this.identity.expiresAt.toISOString()}; reconnect with a fresh token`);
    }
    const audit = this.audit!;
    const upstream = this.upstream!;
    const classification = this.deps.parser.classify(sql);
    const requestId = this.deps.newId();
    this.requestCount++;
    // One budget covers "request durable" and "verdict received"; past it the agent gets 08006.
    const deadline = Date.now() + this.deps.config.verdictTimeoutMs;
    const verdictPromise = this.deps.verdicts.expect(requestId);
    let verdictEvent: AuditEventOf<'VerdictIssued'>;
    try {
      const request = await audit.record('RequestObserved', {
        requestId,
        protocol: 'postgres',
        detail: {
          kind: 'sql',
          text: sql,
          textMasked: false,
          statementKind: classification.statementKind,
          statementKinds: [...classification.statementKinds],
          fingerprint: null,
          messageFlow: 'simple',
          preparedName: null,
          parameters: [],
        },
      }, Math.min(this.deps.config.auditWriteTimeoutMs, this.deps.config.verdictTimeoutMs), requestId);
      try {
        verdictEvent = await withDeadline(verdictPromise, Math.max(deadline - Date.now(), 1), 'AG_ERR_VERDICT_TIMEOUT', 'verdict');
      } catch (err) {
        audit.abandonVerdict(request);
        throw err;
      }
    } finally {
      this.deps.verdicts.cancel(requestId);
    }
    audit.adopt(verdictEvent);
    const verdict = verdictEvent.payload;

    if (verdict.decision !== 'allow') {
      const error = denialError(verdict);
      await audit.record('ResponseObserved', emptyResponse(requestId, 'denied', error.code, error.message), this.deps.config.auditWriteTimeoutMs);
      this.sendError('ERROR', error, denialDetail(verdict));
      this.write(readyForQuery(this.txStatus));
      return;
    }

    upstream.send(serialize.query(sql));
    const result = await this.collectResult(upstream, requestId);
    await audit.record('ResponseObserved', result.summary, this.deps.config.auditWriteTimeoutMs);
    // Released only now that the response is durable.
    if (result.tooLarge) {
      this.sendError('ERROR', new GatewayError('AG_ERR_RESULT_TOO_LARGE', `the result exceeds the gateway limit of ${this.deps.config.maxResultBytes} bytes (streaming arrives with the full PostgreSQL ingress)`));
      this.write(readyForQuery(this.txStatus));
    } else {
      for (const frame of result.frames) this.write(frame);
    }
  }

  private async collectResult(upstream: UpstreamSession, requestId: string): Promise<{ frames: Buffer[]; summary: ResponseObserved; tooLarge: boolean }> {
    const started = process.hrtime.bigint();
    const frames: Buffer[] = [];
    const digest = createHash('sha256');
    const commandTags: string[] = [];
    let columns: ResponseObserved['columns'] = [];
    let rowCount = 0;
    let bytes = 0;
    let firstError: { code: string; message: string } | undefined;
    let tooLarge = false;
    for (;;) {
      const frame = await upstream.nextFrame();
      bytes += frame.raw.length;
      switch (frame.type) {
        case 'T':
          columns = decodeRowDescription(frame.raw).map((c) => ({ name: c.name, typeOid: c.typeOid }));
          break;
        case 'D':
          rowCount++;
          digest.update(frame.raw);
          break;
        case 'C':
          commandTags.push(decodeCommandComplete(frame.raw));
          break;
        case 'E': {
          const fields = decodeErrorFields(frame.raw);
          firstError ??= { code: fields.code, message: fields.message };
          break;
        }
        case 'G':
          // CopyInResponse: the target waits for data the agent would send; refuse it cleanly.
          upstream.send(serialize.copyFail('COPY FROM STDIN is not supported by this agentgate version yet'));
          break;
        default:
          break;
      }
      if (frame.type === 'Z') {
        this.txStatus = decodeReadyForQuery(frame.raw);
        frames.push(frame.raw);
        break;
      }
      if (bytes > this.deps.config.maxResultBytes) tooLarge = true;
      if (!tooLarge) frames.push(frame.raw);
      else if (frames.length > 0) frames.length = 0;
    }
    return {
      frames,
      tooLarge,
      summary: {
        requestId,
        outcome: tooLarge ? 'failed' : firstError ? 'error' : 'ok',
        commandTags,
        rowCount,
        columns,
        durationUs: Number((process.hrtime.bigint() - started) / 1000n),
        bytes,
        // Rows stay out of the audit log until masking lands; the digest proves what was sent.
        sampleRows: [],
        sampleTruncated: rowCount > 0,
        resultDigest: digest.digest('hex'),
        errorCode: tooLarge ? 'AG_ERR_RESULT_TOO_LARGE' : firstError?.code ?? null,
        errorMessage: tooLarge ? 'result exceeds the gateway buffer limit' : firstError?.message ?? null,
      },
    };
  }

  private write(bytes: Buffer): void {
    if (!this.stream.destroyed) this.stream.write(bytes);
  }

  private sendError(severity: 'ERROR' | 'FATAL', error: GatewayError, detail?: string): void {
    this.write(errorResponse({
      severity,
      code: sqlStateFor(error.code),
      message: `agentgate: ${error.message}`,
      detail: detail ?? `code=${error.code}; session=${this.sessionId}`,
      hint: error.retriable ? 'The gateway refused to run the statement unaudited; retry when the audit log is back.' : undefined,
    }));
  }

  /** Ends the session with a FATAL ErrorResponse; the target never sees what was pending. */
  private async fatal(error: GatewayError, reason = 'error'): Promise<void> {
    if (this.phase === 'closing' || this.phase === 'closed') return;
    this.log.warn({ code: error.code }, 'session ended by error');
    this.sendError('FATAL', error);
    await this.finish({ reason, code: error.code });
  }

  private async finish(close: { reason: string; code: ErrorCode | null }): Promise<void> {
    if (this.phase === 'closing' || this.phase === 'closed') return;
    this.phase = 'closing';
    this.closeReason = close;
    this.queue.length = 0;
    clearTimeout(this.expiryTimer);
    this.upstream?.close();
    if (!this.stream.destroyed) this.stream.end();
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
