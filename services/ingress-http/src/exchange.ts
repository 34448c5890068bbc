// One agent request, start to end, as its own audit session: authenticate, normalise the
// target, read the body, record the session's opening with the request and wait for its
// verdict, then (allowed only) forward it with the gateway's credential and stream the answer
// back through the verdict's masker. Nothing reaches the upstream before the verdict; every
// refusal is a problem document. The response is recorded, with the session's close, before
// the agent's response completes: an answer whose record failed is cut off, never ended cleanly.
// Opening and request share one acknowledged write, response and close another (OneRequestAudit).
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { type ErrorCode, GatewayError, toGatewayError } from '@agentgate/errors';
import type { Actor, RequestObserved, ResponseObserved, SessionClosed, VerdictIssued } from '@agentgate/events';
import type { MaskingPlans } from '@agentgate/ingress-core';
import type { CompiledPlan } from '@agentgate/masking';
import type { Logger } from '@agentgate/observability';
import type { Dispatcher } from 'undici';
import { recordedBody, redactText } from './audit-redaction.js';
import type { HttpIngressConfig } from './config.js';
import { type HttpCatalog, type HttpConnection, mayUse } from './connections.js';
import { type Decoding, recordableRequestBody, responseTreatment } from './content-types.js';
import type { OneRequestAudit, StartOneRequestAudit } from './exchange-audit.js';
import {
  forwardedRequestHeaders,
  type HeaderMap,
  headerMap,
  REQUEST_HEADER,
  recordedRequestHeaders,
  returnedResponseHeaders,
  SESSION_HEADER,
} from './headers.js';
import { type Problem, httpStatus, registryCode, sendProblem } from './problems.js';
import { httpDetail, httpResponse, outcomeOf, sessionOpened } from './records.js';
import { BodyTooLarge, readBody } from './request-body.js';
import { parseRequestTarget, type RequestTarget, upstreamPath } from './request-target.js';
import { bodyFilter, relayBody } from './response-relay.js';
import type { ExchangeStage, StageObserver } from './stage-metrics.js';
import { withUpstreamAuth } from './upstream-auth.js';

export interface ExchangeDeps {
  config: Pick<HttpIngressConfig, 'instanceId' | 'maxBodyBytes' | 'auditBodyBytes' | 'approvalsUrl'>;
  catalog: HttpCatalog;
  /** Verifies an access token; rejects with a GatewayError (AG_ERR_TOKEN_*, AG_ERR_IDP_UNAVAILABLE). */
  verifyToken(token: string): Promise<Actor>;
  startAudit: StartOneRequestAudit;
  maskingPlans: MaskingPlans;
  /** Resolves a credential reference (resolveCredential of ingress-core, with the service's environment). */
  resolveCredential(reference: string): string;
  /** The undici dispatcher that reaches the connection's upstream. */
  dispatcherFor(connection: HttpConnection): Dispatcher;
  logger: Logger;
  newId: () => string;
  /** Told each stage's duration (stage-metrics.ts); absent = not measured. */
  observeStage?: StageObserver;
}

/** How an exchange ended, for metrics. */
export type ExchangeEnd = 'refused' | 'denied' | 'forwarded' | 'failed' | 'cancelled';

const BEARER = /^Bearer +([^\s]+) *$/i;

/** TRACE echoes the request as the upstream received it: with the gateway's credential in it. */
const REFUSED_METHODS = new Set(['TRACE', 'TRACK', 'CONNECT']);

/** Writes to the agent; resolves when it may take more, rejects once it has gone away. */
function writeTo(res: ServerResponse, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (res.destroyed) {
      reject(new Error('the agent went away'));
      return;
    }
    if (res.write(bytes)) {
      resolve();
      return;
    }
    const settle = (): void => {
      res.off('drain', settle);
      res.off('close', settle);
      if (res.destroyed && !res.writableFinished) reject(new Error('the agent went away'));
      else resolve();
    };
    res.on('drain', settle);
    res.on('close', settle);
  });
}

function decoder(coding: Decoding): NodeJS.ReadWriteStream {
  if (coding === 'gzip') return createGunzip();
  if (coding === 'deflate') return createInflate();
  return createBrotliDecompress();
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Handles one request on `res`; never rejects. */
export async function handleExchange(deps: ExchangeDeps, req: IncomingMessage, res: ServerResponse): Promise<ExchangeEnd> {
  const startedAt = performance.now();
  const refuse = (problem: Problem): ExchangeEnd => {
    sendProblem(res, problem);
    return 'refused';
  };
  const auth = BEARER.exec(req.headers.authorization ?? '');
  if (!auth?.[1]) return refuse({ code: 'AG_ERR_UNAUTHENTICATED', detail: 'an Authorization: Bearer access token is required' });
  let actor: Actor;
  try {
    actor = await deps.verifyToken(auth[1]);
    deps.observeStage?.('token', performance.now() - startedAt);
  } catch (err) {
    const e = toGatewayError(err);
    return refuse({ code: e.code, detail: e.message });
  }
  const parsed = parseRequestTarget(req.url ?? '');
  if (!parsed.ok) return refuse({ code: 'AG_ERR_BAD_REQUEST', detail: `${parsed.reason}; nothing was forwarded` });
  const connection = deps.catalog.get(parsed.target.connection);
  if (!connection) return refuse({ code: 'AG_ERR_CONNECTION_UNKNOWN', detail: `no HTTP connection named ${parsed.target.connection}` });
  if (!mayUse(connection, actor.groups))
    return refuse({ code: 'AG_ERR_CONNECTION_FORBIDDEN', detail: `your groups may not use connection ${connection.name}` });
  const method = req.method ?? 'GET';
  if (REFUSED_METHODS.has(method))
    return refuse({ code: 'AG_ERR_BAD_REQUEST', status: 405, detail: `the gateway does not forward ${method}` });
  let body: Buffer;
  const bodyAt = performance.now();
  try {
    body = await readBody(req, deps.config.maxBodyBytes);
    deps.observeStage?.('body', performance.now() - bodyAt);
  } catch (err) {
    if (err instanceof BodyTooLarge)
      return refuse({
        code: 'AG_ERR_MESSAGE_TOO_LARGE',
        detail: `the request body exceeds ${deps.config.maxBodyBytes} bytes; nothing was forwarded`,
        close: true,
      });
    res.destroy();
    return 'cancelled';
  }
  return new Exchange(deps, req, res, actor, connection, parsed.target, body, startedAt).run();
}

/** One allowed-or-not exchange from its SessionOpened on. */
class Exchange {
  private readonly sessionId: string;
  private readonly requestId: string;
  private readonly audit: OneRequestAudit;
  private readonly log: Logger;
  private readonly started = process.hrtime.bigint();
  private readonly method: string;
  private readonly agentHeaders: HeaderMap;
  /** Aborts the upstream request when the agent goes away first. */
  private readonly abort = new AbortController();
  private agentGone = false;
  private decided = false;
  /** SessionClosed went with the response (or was attempted with it). */
  private closed = false;

  constructor(
    private readonly deps: ExchangeDeps,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    actor: Actor,
    private readonly connection: HttpConnection,
    private readonly target: RequestTarget,
    private readonly body: Buffer,
    private readonly receivedAt: number,
  ) {
    this.sessionId = deps.newId();
    this.requestId = deps.newId();
    this.audit = deps.startAudit(this.sessionId, actor);
    this.log = deps.logger.child({ sessionId: this.sessionId, connection: connection.name });
    this.method = req.method ?? 'GET';
    this.agentHeaders = headerMap(req.rawHeaders);
    res.on('close', () => {
      if (!res.writableFinished) {
        this.agentGone = true;
        this.abort.abort();
      }
    });
    res.setHeader(SESSION_HEADER, this.sessionId);
  }

  /** Observes `stage` as the time since `since` (performance.now()). */
  private stage(stage: ExchangeStage, since: number): void {
    this.deps.observeStage?.(stage, performance.now() - since);
  }

  private elapsedUs(): number {
    return Number((process.hrtime.bigint() - this.started) / 1000n);
  }

  async run(): Promise<ExchangeEnd> {
    let end: ExchangeEnd = 'failed';
    let code: ErrorCode | null = null;
    try {
      [end, code] = await this.decideAndForward();
    } catch (err) {
      code = toGatewayError(err).code;
      this.log.error({ code }, 'exchange failed');
      sendProblem(this.res, { code: 'AG_ERR_INTERNAL', detail: 'internal error' });
    }
    if (!this.closed)
      this.audit
        .close(this.closing(end, code))
        .catch((err: unknown) => this.log.warn({ code: toGatewayError(err).code }, 'session close not recorded'));
    return end;
  }

  private requestPayload(): RequestObserved {
    const { deps, body, agentHeaders } = this;
    const contentType = agentHeaders['content-type']?.[0] ?? null;
    const recordable =
      body.length > 0 &&
      body.length <= deps.config.auditBodyBytes &&
      recordableRequestBody(contentType ?? undefined, single(this.req.headers['content-encoding']));
    return {
      requestId: this.requestId,
      protocol: 'http',
      connection: this.connection.name,
      detail: httpDetail({
        method: this.method,
        path: this.target.path,
        query: this.target.query === null ? null : redactText(this.target.query),
        headers: recordedRequestHeaders(agentHeaders, redactText),
        bodyDigest: body.length > 0 ? createHash('sha256').update(body).digest('hex') : null,
        body: recordable ? recordedBody(body) : null,
        bodyBytes: body.length,
        contentType,
      }),
    };
  }

  private closing(end: ExchangeEnd, code: ErrorCode | null): SessionClosed {
    return { reason: closeReason(end), errorCode: code, durationUs: this.elapsedUs(), requestCount: this.decided ? 1 : 0 };
  }

  /**
   * Records `payload` with the session's close as the exchange ends (`end`, `code`): one write,
   * nothing after it. False (and a log line) when it could not be made durable.
   */
  private async respond(payload: ResponseObserved, end: ExchangeEnd, code: ErrorCode | null): Promise<boolean> {
    this.closed = true;
    const respondingAt = performance.now();
    try {
      await this.audit.respondAndClose(payload, this.closing(end, code));
      this.stage('response', respondingAt);
      return true;
    } catch (err) {
      this.log.warn({ code: toGatewayError(err).code }, 'response not recorded');
      return false;
    }
  }

  /** The gateway answers instead of the upstream: recorded, then sent. */
  private async fail(err: unknown, status?: number): Promise<[ExchangeEnd, ErrorCode]> {
    const e = toGatewayError(err);
    const sent = status ?? httpStatus(e.code);
    this.log.warn({ code: e.code, cause: (e.cause as Error | undefined)?.message }, 'request failed at the gateway');
    await this.respond(
      httpResponse(this.requestId, 'failed', {
        httpStatus: sent,
        errorCode: e.code,
        errorMessage: e.message,
        durationUs: this.elapsedUs(),
      }),
      'failed',
      e.code,
    );
    sendProblem(this.res, { code: e.code, status: sent, detail: `${e.message}; nothing was forwarded`, extensions: this.ids() });
    return ['failed', e.code];
  }

  private ids(): Record<string, string> {
    return { sessionId: this.sessionId, requestId: this.requestId };
  }

  private async decideAndForward(): Promise<[ExchangeEnd, ErrorCode | null]> {
    const { deps, connection, res } = this;
    let verdict: VerdictIssued;
    try {
      this.decided = true;
      const opened = sessionOpened(
        connection,
        { address: this.req.socket.remoteAddress ?? '', port: this.req.socket.remotePort ?? 0, userAgent: this.req.headers['user-agent'] },
        deps.config.instanceId,
      );
      const payload = this.requestPayload();
      const requestAt = performance.now();
      verdict = await this.audit.openAndDecide(opened, payload);
      this.stage('request+verdict', requestAt);
    } catch (err) {
      // Not decided, nothing forwarded; the response is not recorded (its request, and the
      // session's opening with it, may not be either).
      const e = toGatewayError(err);
      this.log.warn({ code: e.code }, 'session or request not recorded, or not decided; nothing forwarded');
      sendProblem(res, { code: e.code, detail: `${e.message}; nothing was forwarded`, extensions: this.ids() });
      return ['failed', e.code];
    }
    res.setHeader(REQUEST_HEADER, this.requestId);
    if (verdict.decision !== 'allow') return this.refuseByPolicy(verdict);
    if (this.agentGone) {
      await this.respond(httpResponse(this.requestId, 'cancelled', { httpStatus: null, durationUs: this.elapsedUs() }), 'cancelled', null);
      return ['cancelled', null];
    }
    let plan: CompiledPlan | undefined;
    let headers: HeaderMap;
    try {
      plan = deps.maskingPlans.forVerdict(verdict.maskingPlan);
      headers = withUpstreamAuth(forwardedRequestHeaders(this.agentHeaders), connection.upstreamAuth, deps.resolveCredential);
    } catch (err) {
      return this.fail(err);
    }
    let upstream: Dispatcher.ResponseData;
    const forwardedAt = performance.now();
    try {
      // The agent's body goes as it came: with a body (even an empty one) only when it sent one.
      const sentBody = this.req.headers['content-length'] !== undefined || this.req.headers['transfer-encoding'] !== undefined;
      upstream = await deps.dispatcherFor(connection).request({
        origin: connection.origin,
        path: upstreamPath(connection.basePath, this.target),
        method: this.method,
        headers,
        body: sentBody ? this.body : null,
        signal: this.abort.signal,
      });
      this.stage('upstream', forwardedAt);
    } catch (err) {
      if (this.agentGone) {
        await this.respond(
          httpResponse(this.requestId, 'cancelled', { httpStatus: null, durationUs: this.elapsedUs() }),
          'cancelled',
          null,
        );
        return ['cancelled', null];
      }
      return this.fail(
        new GatewayError('AG_ERR_UPSTREAM_UNAVAILABLE', `connection ${connection.name}: the upstream could not be reached`, { cause: err }),
      );
    }
    return this.relay(upstream, plan);
  }

  private async refuseByPolicy(verdict: VerdictIssued): Promise<[ExchangeEnd, ErrorCode]> {
    const pending = verdict.decision === 'pending_approval';
    const code: ErrorCode = pending ? 'AG_ERR_APPROVAL_PENDING' : registryCode(verdict.errorCode, 'AG_ERR_POLICY_DENIED');
    const status = httpStatus(code);
    await this.respond(
      httpResponse(this.requestId, 'denied', { httpStatus: status, errorCode: code, durationUs: this.elapsedUs() }),
      'denied',
      code,
    );
    const approval: Record<string, string> =
      pending && verdict.approvalId !== null
        ? { approvalId: verdict.approvalId, approvalUrl: `${this.deps.config.approvalsUrl}/v1/approvals/${verdict.approvalId}` }
        : {};
    sendProblem(this.res, {
      code,
      detail: `${pending ? 'the request waits for approval' : 'refused by policy'}: ${verdict.reason}; nothing was forwarded`,
      extensions: { ...this.ids(), rule: verdict.ruleId, policyVersion: verdict.policyVersion, reason: verdict.reason, ...approval },
    });
    return ['denied', code];
  }

  private async relay(upstream: Dispatcher.ResponseData, plan: CompiledPlan | undefined): Promise<[ExchangeEnd, ErrorCode | null]> {
    const { res, deps } = this;
    const status = upstream.statusCode;
    const treatment = responseTreatment(
      single(upstream.headers['content-type']),
      single(upstream.headers['content-encoding']),
      plan !== undefined,
    );
    if (treatment.kind === 'refuse') {
      upstream.body.destroy();
      return this.fail(
        new GatewayError('AG_ERR_MASKING_UNSUPPORTED', `the upstream sent ${treatment.reason}, which the gateway cannot mask`),
        502,
      );
    }
    const bodyless = this.method === 'HEAD' || status === 204 || status === 304;
    const rewritten = !bodyless && (treatment.mask || treatment.decode !== null);
    res.writeHead(
      status,
      returnedResponseHeaders(upstream.headers, { bodyRewritten: rewritten, decoded: !bodyless && treatment.decode !== null }),
    );
    let source: AsyncIterable<Uint8Array> = upstream.body;
    if (treatment.decode !== null && !bodyless) {
      const decoding = decoder(treatment.decode);
      // Errors of either stream surface in the iteration of the decoder.
      pipeline(upstream.body, decoding, () => {});
      source = decoding as unknown as Readable;
    }
    const fields = { httpStatus: status };
    const headersAt = performance.now();
    try {
      const relayed = await relayBody({
        body: source,
        filter: bodyFilter(treatment.mask ? plan : undefined),
        sse: treatment.sse,
        sampleBytes: treatment.text && !bodyless ? deps.config.auditBodyBytes : null,
        write: (bytes) => writeTo(res, bytes),
      });
      this.stage('relay', headersAt);
      const recorded = await this.respond(
        httpResponse(this.requestId, outcomeOf(status), {
          ...fields,
          durationUs: this.elapsedUs(),
          bytes: relayed.bytes,
          resultDigest: relayed.sha256,
          bodySample: relayed.sample,
          sampleTruncated: relayed.sampleTruncated,
          masking: relayed.masking,
        }),
        'forwarded',
        null,
      );
      if (!recorded) {
        // The agent never sees a completed answer the audit log does not hold.
        res.destroy();
        return ['failed', 'AG_ERR_AUDIT_UNAVAILABLE'];
      }
      res.end();
      this.stage('total', this.receivedAt);
      return ['forwarded', null];
    } catch (err) {
      upstream.body.destroy();
      res.destroy();
      const cancelled = this.agentGone;
      const code: ErrorCode | null = cancelled ? null : 'AG_ERR_UPSTREAM_CLOSED';
      if (!cancelled) this.log.warn({ err: (err as Error).message }, 'upstream body failed; the answer was cut off');
      await this.respond(
        httpResponse(this.requestId, cancelled ? 'cancelled' : 'failed', { ...fields, durationUs: this.elapsedUs(), errorCode: code }),
        cancelled ? 'cancelled' : 'failed',
        code,
      );
      return [cancelled ? 'cancelled' : 'failed', code];
    }
  }
}

function closeReason(end: ExchangeEnd): string {
  switch (end) {
    case 'forwarded':
      return 'complete';
    case 'denied':
      return 'denied';
    case 'cancelled':
      return 'client-disconnect';
    case 'failed':
    case 'refused':
      return 'failed';
    default: {
      const never: never = end;
      return String(never);
    }
  }
}
