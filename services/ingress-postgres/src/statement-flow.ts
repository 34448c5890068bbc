// The statements of a logged-in PostgreSQL session: every message that can run code on the
// target is recorded and decided before it is sent, the gateway's picture of prepared
// statements and portals follows what the target confirmed, and a refusal leaves the target's
// transaction as a server-side error would. The session (session.ts) owns the sockets; this
// owns what goes through them after login.
import { GatewayError, toGatewayError } from '@agentgate/errors';
import {
  type AuditEventOf,
  derivedEventId,
  type ResponseObserved,
  responseObserved,
  type SqlRequest,
  type VerdictIssued,
} from '@agentgate/events';
import { newTiming, type StatementTiming } from './stage-metrics.js';
import {
  ConfirmedProtocolState,
  planExtendedBatch,
  type BatchDecision,
  type BatchPlan,
  type BatchRefusal,
  type FrontendMessage,
  type FunctionCallMessage,
  noticeResponse,
  type PlannedMessage,
  type TransactionStatus,
} from '@agentgate/pg-wire';
import { serialize } from 'pg-protocol';
import type { AsyncSqlParser } from '@agentgate/sql';
import { type ChainWriter, decideInTurn, type SessionAudit } from '@agentgate/ingress-core';
import { redactSqlText, redactValues } from './audit-redaction.js';
import { auditedParameters, auditedText } from './audit-text.js';
import type { IngressConfig } from './config.js';
import { functionCallSql, type ResolvedFunction } from './function-resolver.js';
import { DEFAULT_LEXING, lexingDependsOnSettings, unfollowableLexing, withParameterStatus, type LexingSettings } from './lexing.js';
import { StatementResponse, type ResponsePump, type SampleLimits } from './response-pump.js';
import type { ResultMasking } from './result-masking.js';
import { ESTIMATED_KINDS } from './blast-radius.js';
import type { StatementDigester } from './statement-digest.js';
import { resolveSqlReferences, type SqlLevelEffect, type SqlReferences } from './sql-references.js';
import type { UpstreamSession } from './upstream.js';
import type { VerdictFeed } from '@agentgate/ingress-core';

// Bound parameters in a RequestObserved: per value, and all together.
const MAX_PARAMETER_CHARS = 1024;
const MAX_PARAMETERS_CHARS = 64 * 1024;
// The most of an extended batch held before Sync or Flush (a single larger message is held whole).
const MAX_HELD_BATCH_BYTES = 1024 * 1024;

/** What the statement flow needs of its session. */
export interface StatementFlowDeps {
  config: Readonly<IngressConfig>;
  parser: AsyncSqlParser;
  verdicts: VerdictFeed;
  newId: () => string;
  audit: SessionAudit;
  pump: ResponsePump;
  upstream: UpstreamSession;
  connectionName: string;
  /**
   * The function a fast-path FunctionCall's OID names on the target, for the session's target
   * role; throws AG_ERR_FUNCTION_UNKNOWN or AG_ERR_FUNCTION_LOOKUP_FAILED (function-resolver.ts).
   */
  resolveFunction(oid: number): Promise<ResolvedFunction>;
  /**
   * The masking an allow verdict plans for its result, ready to apply (result-masking.ts);
   * undefined when it plans none. Throws AG_ERR_MASKING_UNSUPPORTED when the plan cannot be
   * applied: the statement is then refused.
   */
  maskingFor?(verdict: VerdictIssued): ResultMasking | undefined;
  /** The keyed digest of a statement and its parameters that approvals bind to (statement-digest.ts). */
  statementDigest?: StatementDigester;
  /**
   * Starts the blast radius estimate of a statement sent for approval (blast-radius.ts), off the
   * statement's path: its result is an event for approvers, never awaited here.
   */
  estimateBlastRadius?(approval: { approvalId: string; requestId: string; text: string; parameters: (string | null)[] }): void;
  /** The session's ErrorResponse for a gateway error (severity, SQLSTATE, detail with the session id). */
  errorFrame(severity: 'ERROR' | 'FATAL', error: GatewayError, detail?: string): Buffer;
  /** Throws AG_ERR_TOKEN_EXPIRED once the agent's token has expired. */
  checkTokenStillValid(): void;
  /** The agent sent Terminate. */
  end(): Promise<void>;
}

export class StatementFlow {
  /** What the target holds, as it confirmed it (ParseComplete, BindComplete, CloseComplete, ReadyForQuery). */
  private readonly protocol = new ConfirmedProtocolState();
  /** Extended-protocol messages held until Sync or Flush, then decided and sent together. */
  private batch: FrontendMessage[] = [];
  /** Responses of portals that are executing or suspended (fetch size), by portal name. */
  private readonly portalResponses = new Map<string, StatementResponse>();
  /** The masking of each bound portal whose verdict planned one: every Execute of it is masked. */
  private readonly portalMasking = new Map<string, ResultMasking>();
  /** standard_conforming_strings and client_encoding as the target last reported them. */
  private lexing: LexingSettings = DEFAULT_LEXING;
  /** After a refusal in a batch without Sync, the server skips everything up to the agent's Sync. */
  private skipUntilSync = false;
  private requests = 0;
  /** Extended messages were sent since the last Sync or Flush: the server may hold their answers. */
  private unflushed = false;
  /** Names whose Parse, Bind or Close was sent and not yet answered. */
  private readonly unconfirmed = { statements: new Set<string>(), portals: new Set<string>() };
  /** Bytes of the batch held so far. */
  private batchBytes = 0;

  constructor(private readonly deps: StatementFlowDeps) {}

  /** Handles one message of a logged-in session, in the order the agent sent them. */
  async handle(message: FrontendMessage): Promise<void> {
    if (this.skipUntilSync) {
      if (message.type === 'Terminate') return this.deps.end();
      if (message.type !== 'Sync') return;
      // The agent's Sync ends the batch the server is skipping.
      this.skipUntilSync = false;
      this.deps.pump.expect({ kind: 'sync' });
      this.deps.upstream.send(message.raw);
      this.unflushed = false;
      return;
    }
    switch (message.type) {
      case 'Parse':
      case 'Bind':
      case 'Describe':
      case 'Execute':
      case 'Close':
        this.batch.push(message);
        this.batchBytes += message.raw.length;
        // A batch without Sync cannot hold memory without bound: past the mark it is decided
        // and sent as it stands, as the server would have run it by now.
        if (this.batchBytes > MAX_HELD_BATCH_BYTES) return this.runBatch();
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
        const current = this.deps.pump.current;
        if (current) current.copyInBytes += message.raw.length;
        this.deps.upstream.send(message.raw);
        return;
      }
      case 'Terminate':
        return this.deps.end();
      case 'FunctionCall':
        return this.handleFunctionCall(message);
      default:
        // Startup-phase messages (or a password message) in a logged-in session: refused, with
        // the transaction aborted as a server-side error would.
        return this.refuseSimple(new GatewayError('AG_ERR_UNSUPPORTED', `${message.type} is not supported through agentgate`));
    }
  }

  /** ParameterStatus from the target, at login or later (SET, RESET, set_config). */
  onParameterStatus(name: string, value: string): void {
    this.lexing = withParameterStatus(this.lexing, name, value);
  }

  /** ReadyForQuery from the target. */
  onReady(status: TransactionStatus): void {
    this.protocol.ready(status);
    if (status === 'I') {
      this.portalResponses.clear();
      this.portalMasking.clear();
    }
  }

  /** Statements recorded so far. */
  get requestCount(): number {
    return this.requests;
  }

  /**
   * Records the request and waits for its verdict, inside the chain's turn so the verdict
   * follows its request directly (decideInTurn, libs/ingress-core). One budget covers both; past
   * it the agent gets 08006. A statement sent for approval is held up to the approval wait: the
   * agent is told where to approve it (a notice), and past the wait the pending verdict is what
   * the caller gets (refused with AG_ERR_APPROVAL_PENDING).
   */
  private async decideStatement(
    writer: ChainWriter,
    requestId: string,
    detail: SqlRequest,
    timing?: StatementTiming,
    raw?: RawStatement,
  ): Promise<AuditEventOf<'VerdictIssued'>> {
    if (timing) timing.requestAt = performance.now();
    const { config } = this.deps;
    const { verdict } = await decideInTurn(
      writer,
      {
        verdicts: this.deps.verdicts,
        auditWriteTimeoutMs: config.auditWriteTimeoutMs,
        verdictTimeoutMs: config.verdictTimeoutMs,
        approvalWaitMs: config.approvalWaitMs,
        onPendingApproval: (pending) => {
          const approvalId = pending.payload.approvalId!;
          this.deps.pump.expect({ kind: 'local', frames: [approvalNotice(approvalId, config.approvalsUrl, config.approvalWaitMs)] });
          // Estimated once per approval, by the request that asked for it (the processor derives the id).
          if (raw && approvalId === derivedEventId(requestId, 'approval') && detail.statementKinds.some((k) => ESTIMATED_KINDS.has(k))) {
            this.deps.estimateBlastRadius?.({ approvalId, requestId, text: raw.text, parameters: raw.parameters });
          }
        },
      },
      { requestId, protocol: 'postgres', connection: this.deps.connectionName, detail },
    );
    return verdict;
  }

  /** Simple query: every statement of the string is its own request and verdict. */
  private async handleQuery(sql: string, raw: Buffer): Promise<void> {
    const receivedAt = performance.now();
    this.deps.checkTokenStillValid();
    const pump = this.deps.pump;
    const unreadable = this.checkParseable(sql) ?? (await this.checkLexing([sql]));
    if (unreadable) return this.refuseSimple(unreadable);
    const classification = await this.deps.parser.classify(sql);
    // An EXECUTE or FETCH may name what a pipelined PREPARE or DECLARE is still creating.
    if (!this.deps.pump.isIdle && runsSqlLevelName(classification.statements)) await this.settle();
    const references = resolveSqlReferences(classification.statements, this.protocol);
    const unknown = references.find((r) => r.unknownStatement !== null);
    if (unknown) return this.refuseSimple(unknownStatementError(unknown.unknownStatement!));
    // An empty or unparseable string is still one request (policy sees UNPARSEABLE / EMPTY).
    const statements =
      classification.statements.length > 0
        ? await Promise.all(
            classification.statements.map(async (st, i) => ({
              text: st.text,
              kind: st.kind,
              kinds: await this.kindsRun([st.kind, ...st.runs], references[i]!.runs),
              references: references[i]!,
            })),
          )
        : [{ text: sql, kind: classification.statementKind, kinds: [...classification.statementKinds], references: NO_REFERENCES }];
    const denied = await this.deps.audit.exclusive(async (writer) => {
      const allowed: StatementResponse[] = [];
      for (const statement of statements) {
        const requestId = this.deps.newId();
        this.requests++;
        const timing = newTiming(receivedAt);
        const verdict = await this.decideStatement(
          writer,
          requestId,
          this.sqlDetail(statement.text, statement.kind, statement.kinds, 'simple', null, [], statement.references.runs),
          timing,
          { text: statement.text, parameters: [] },
        );
        const response = verdict.payload.decision === 'allow' ? this.allowedResponse(requestId, verdict.payload) : undefined;
        if (!(response instanceof StatementResponse)) {
          const error = response ?? (await this.recordDenial(writer, requestId, verdict.payload));
          if (response) await this.recordUnmaskable(writer, requestId, response);
          // PostgreSQL runs a string as one implicit transaction: an error undoes what ran before
          // it. The gateway refuses before anything runs, so the earlier statements never run.
          for (const r of allowed) {
            r.error = { code: 'not_executed', message: 'a later statement of the same query string was denied' };
            await writer.record('ResponseObserved', r.summary('cancelled'), this.deps.config.auditWriteTimeoutMs);
          }
          return { error, verdict: verdict.payload };
        }
        Object.assign(response.timing, timing);
        this.applyOnSend(statement.references.effect, response, requestId);
        allowed.push(response);
      }
      this.protocol.simpleQuery();
      pump.expect({ kind: 'simple', responses: allowed, next: 0 });
      const forwardedAt = performance.now();
      for (const r of allowed) r.timing.forwardedAt = forwardedAt;
      this.deps.upstream.send(raw);
      return undefined;
    });
    if (denied) await this.refuseSimple(denied.error, denialDetail(denied.verdict, denied.error));
  }

  /**
   * Fast path: a FunctionCall runs a function by OID, with no statement text. It is decided as
   * the SELECT of the function its OID names on the target (resolved on a connection of the
   * gateway's own, function-lookup.ts), its arguments as bound parameters: recorded, decided
   * and forwarded only on allow, as a simple query. An OID that does not resolve, or a lookup
   * that fails, is refused with nothing sent but the refusal that aborts the transaction.
   */
  private async handleFunctionCall(message: FunctionCallMessage): Promise<void> {
    this.deps.checkTokenStillValid();
    let fn: ResolvedFunction;
    try {
      fn = await this.deps.resolveFunction(message.functionOid);
    } catch (err) {
      return this.refuseSimple(toGatewayError(err, 'AG_ERR_FUNCTION_LOOKUP_FAILED'));
    }
    const sql = functionCallSql(fn, message.functionOid, message.args.length);
    const classification = await this.deps.parser.classify(sql);
    const detail = this.sqlDetail(
      sql,
      classification.statementKind,
      [...new Set(classification.statementKinds)],
      'function-call',
      null,
      auditedParameters(message.args, message.argFormats, MAX_PARAMETER_CHARS, MAX_PARAMETERS_CHARS),
      null,
    );
    const denied = await this.deps.audit.exclusive(async (writer) => {
      const requestId = this.deps.newId();
      this.requests++;
      const verdict = await this.decideStatement(writer, requestId, detail);
      if (verdict.payload.decision !== 'allow') {
        return { error: await this.recordDenial(writer, requestId, verdict.payload), verdict: verdict.payload };
      }
      const response = this.allowedResponse(requestId, verdict.payload);
      if (!(response instanceof StatementResponse)) {
        await this.recordUnmaskable(writer, requestId, response);
        return { error: response, verdict: verdict.payload };
      }
      this.deps.pump.expect({ kind: 'function-call', response, binaryResult: message.resultFormat === 1 });
      this.deps.upstream.send(message.raw);
      return undefined;
    });
    if (denied) await this.refuseSimple(denied.error, denialDetail(denied.verdict, denied.error));
  }

  /**
   * Refuses a simple-protocol message so that the target's transaction ends as if the target
   * had raised the error: a query that cannot parse is sent in its place, and its error is
   * replaced by the gateway's. Inside BEGIN the transaction is then aborted ('E'), as PostgreSQL
   * would leave it, so a later COMMIT cannot commit work done before the refusal.
   */
  private async refuseSimple(error: GatewayError, detail?: string): Promise<void> {
    this.deps.pump.expect({ kind: 'refused', frame: this.deps.errorFrame('ERROR', error, detail), simple: true });
    this.deps.upstream.send(REFUSAL_QUERY);
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
    this.batchBytes = 0;
    // An Execute may change how the server lexes a Parse that follows it in the same batch
    // (SET standard_conforming_strings): run up to that Parse first, flushed so its answers
    // arrive, and decide the rest under the settings the server then reports.
    const cut = batch.findIndex(
      (m, i) => m.type === 'Parse' && lexingDependsOnSettings(m.sql) && batch.slice(0, i).some((p) => p.type === 'Execute'),
    );
    if (cut <= 0) return this.runBatchPart(batch);
    await this.runBatchPart([...batch.slice(0, cut), FLUSH]);
    const rest = batch.slice(cut);
    if (this.skipUntilSync) {
      // The first part was refused: the server skips the rest up to its Sync.
      const sync = rest.find((m) => m.type === 'Sync');
      if (sync) {
        this.skipUntilSync = false;
        this.deps.pump.expect({ kind: 'sync' });
        this.deps.upstream.send(sync.raw);
      }
      return;
    }
    this.batch = rest;
    return this.runBatch();
  }

  private async runBatchPart(batch: readonly FrontendMessage[]): Promise<void> {
    const receivedAt = performance.now();
    this.deps.checkTokenStillValid();
    const unreadable = await this.checkLexing(batch.flatMap((m) => (m.type === 'Parse' ? [m.sql] : [])));
    if (unreadable) {
      // Nothing of the batch is sent: the server raises the error at its first message.
      return this.refuseBatch(batch, this.deps.errorFrame('ERROR', unreadable));
    }
    // A pipelining client may use a statement or portal whose Parse, Bind or Close was sent
    // but not yet answered: what the name holds depends on that answer, so wait for it.
    if (this.usesUnconfirmed(batch) || (await this.runsUnconfirmedSqlName(batch))) await this.settle();
    const plan = planExtendedBatch(this.protocol, batch, RESERVED_PORTALS);
    const outcome = await this.deps.audit.exclusive((writer) => this.decideBatch(writer, plan, receivedAt));
    let stopAt = plan.refusal?.at ?? plan.messages.length;
    let refusal: Buffer | undefined;
    if (plan.refusal) refusal = this.deps.errorFrame('ERROR', refusalError(plan.refusal));
    if (outcome.denied) {
      const first = plan.messages.findIndex((m) => m.decision === outcome.denied!.decision);
      if (first !== -1 && first < stopAt) {
        stopAt = first;
        refusal = outcome.denied.frame;
      }
    }
    const forwardedAt = performance.now();
    for (const a of outcome.allowed) a.response.timing.forwardedAt = forwardedAt;
    for (let i = 0; i < stopAt; i++) this.send(plan.messages[i]!, outcome.allowed);
    if (refusal) this.refuseBatch(batch, refusal);
  }

  /** Sends the refusal in place of the batch's next message, then what ends the server's skipping. */
  private refuseBatch(batch: readonly FrontendMessage[], refusal: Buffer): void {
    this.deps.pump.expect({ kind: 'refused', frame: refusal, simple: false });
    this.deps.upstream.send(REFUSAL_EXECUTE);
    this.unflushed = true;
    // The server skips everything up to Sync; the batch's own Sync ends that, or the agent's next one.
    const last = batch.at(-1);
    if (last?.type === 'Sync') {
      this.deps.pump.expect({ kind: 'sync' });
      this.deps.upstream.send(last.raw);
      this.unflushed = false;
    } else {
      if (last?.type === 'Flush') {
        this.deps.upstream.send(last.raw);
        this.unflushed = false;
      }
      this.skipUntilSync = true;
    }
  }

  /** Records and decides the batch's requests in order, up to the first denial. */
  private async decideBatch(
    writer: ChainWriter,
    plan: BatchPlan,
    receivedAt: number,
  ): Promise<{ allowed: Allowed[]; denied: { decision: number; frame: Buffer } | undefined }> {
    const allowed: Allowed[] = [];
    for (let d = 0; d < plan.decisions.length; d++) {
      const decision = plan.decisions[d]!;
      const tooLarge = this.checkParseable(decision.sql);
      if (tooLarge) return { allowed, denied: { decision: d, frame: this.deps.errorFrame('ERROR', tooLarge) } };
      const classification = await this.deps.parser.classify(decision.sql);
      const [references = NO_REFERENCES] = resolveSqlReferences(classification.statements, this.protocol);
      if (references.unknownStatement !== null) {
        return {
          allowed,
          denied: { decision: d, frame: this.deps.errorFrame('ERROR', unknownStatementError(references.unknownStatement)) },
        };
      }
      const requestId = this.deps.newId();
      this.requests++;
      const parameters = decision.bind
        ? auditedParameters(decision.bind.params, decision.bind.paramFormats, MAX_PARAMETER_CHARS, MAX_PARAMETERS_CHARS)
        : [];
      const kinds = await this.kindsRun([...classification.statementKinds], references.runs);
      const detail = this.sqlDetail(
        decision.sql,
        classification.statementKind,
        kinds,
        decision.covers === 'bind' ? 'extended' : 'parse',
        decision.statementName || null,
        parameters,
        references.runs,
      );
      const timing = newTiming(receivedAt);
      const raw = decision.bind ? textParameters(decision.bind.params, decision.bind.paramFormats) : [];
      const verdict = await this.decideStatement(
        writer,
        requestId,
        detail,
        timing,
        raw ? { text: decision.sql, parameters: raw } : undefined,
      );
      if (verdict.payload.decision !== 'allow') {
        const error = await this.recordDenial(writer, requestId, verdict.payload);
        return { allowed, denied: { decision: d, frame: this.deps.errorFrame('ERROR', error, denialDetail(verdict.payload, error)) } };
      }
      const response = this.allowedResponse(requestId, verdict.payload);
      if (!(response instanceof StatementResponse)) {
        await this.recordUnmaskable(writer, requestId, response);
        return { allowed, denied: { decision: d, frame: this.deps.errorFrame('ERROR', response) } };
      }
      Object.assign(response.timing, timing);
      this.applyOnSend(references.effect, response, requestId);
      allowed.push({ requestId, sql: decision.sql, covers: decision.covers, response });
    }
    return { allowed, denied: undefined };
  }

  /** Sends one planned message, telling the pump what the server will answer and what that confirms. */
  private send(planned: PlannedMessage, allowed: readonly Allowed[]): void {
    const pump = this.deps.pump;
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
        this.portalMasking.delete(message.portal);
        if (response) this.portalResponses.set(message.portal, response);
        if (response?.masking) this.portalMasking.set(message.portal, response.masking);
        pump.expect({
          kind: 'single',
          confirmed: () =>
            this.protocol.bound(message.portal, {
              sql: covering?.sql ?? '',
              statement: message.statement,
              requestId: covering?.requestId ?? '',
            }),
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
          response.masking = this.portalMasking.get(message.portal);
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
            if (message.target === 'P') {
              this.portalResponses.delete(message.name);
              this.portalMasking.delete(message.name);
            }
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
    this.unflushed = message.type !== 'Sync' && message.type !== 'Flush';
    if (message.type === 'Parse' || (message.type === 'Close' && message.target === 'S')) this.unconfirmed.statements.add(message.name);
    if (message.type === 'Bind') this.unconfirmed.portals.add(message.portal);
    if (message.type === 'Close' && message.target === 'P') this.unconfirmed.portals.add(message.name);
    this.deps.upstream.send(message.raw);
    // A masked result's columns are named from the portal's own description (the Bind chose
    // their formats), which the gateway asks for itself: the agent may never Describe it.
    const masked = message.type === 'Bind' ? covering?.response.masking : undefined;
    if (message.type === 'Bind' && masked && covering) {
      pump.expect({ kind: 'describe-masking', response: covering.response });
      this.deps.upstream.send(serialize.describe({ type: 'P', name: message.portal }));
    }
  }

  private sqlDetail(
    text: string,
    kind: string,
    kinds: string[],
    messageFlow: string,
    preparedName: string | null,
    parameters: (string | null)[],
    resolvedText: string | null,
  ): SqlRequest {
    // Redacted before it is capped: the recorded prefix and the full text's length and SHA-256
    // are then those of the redacted statement. A digest of the raw text would keep the secret
    // at rest in another form: a card number or a short password is found again by hashing
    // every candidate with the rest of the statement, which the event records.
    const own = redactSqlText(text, kinds);
    const resolved = resolvedText === null ? null : redactSqlText(resolvedText, kinds);
    return {
      kind: 'sql',
      ...auditedText(own.text, this.deps.config.auditMaxSqlBytes),
      textMasked: own.masked || (resolved?.masked ?? false),
      statementKind: kind,
      statementKinds: kinds,
      fingerprint: null,
      messageFlow,
      preparedName,
      parameters: redactValues(parameters),
      resolvedText: resolved === null ? null : auditedText(resolved.text, this.deps.config.auditMaxSqlBytes).text,
      statementDigest: this.deps.statementDigest?.(text, resolvedText, parameters) ?? null,
    };
  }

  /**
   * The response of an allowed statement, with the masking its verdict plans; or the error when
   * the plan cannot be applied here, and then the statement does not run (fail closed).
   */
  private allowedResponse(requestId: string, verdict: VerdictIssued): StatementResponse | GatewayError {
    const response = new StatementResponse(requestId, this.sampleLimits());
    try {
      response.masking = this.deps.maskingFor?.(verdict);
    } catch (err) {
      return toGatewayError(err, 'AG_ERR_MASKING_UNSUPPORTED');
    }
    return response;
  }

  /** Records that an allowed statement did not run because its masking could not be applied. */
  private async recordUnmaskable(writer: ChainWriter, requestId: string, error: GatewayError): Promise<void> {
    await writer.record(
      'ResponseObserved',
      emptyResponse(requestId, 'failed', error.code, error.message),
      this.deps.config.auditWriteTimeoutMs,
    );
  }

  /** Records a denied request's response (nothing ran) and returns the error the agent gets. */
  private async recordDenial(writer: ChainWriter, requestId: string, verdict: VerdictIssued): Promise<GatewayError> {
    const error = denialError(verdict);
    await writer.record(
      'ResponseObserved',
      emptyResponse(requestId, 'denied', error.code, error.message),
      this.deps.config.auditWriteTimeoutMs,
    );
    return error;
  }

  /** A statement's kinds, with those of the PREPARE or DECLARE it runs (EXECUTE, FETCH). */
  private async kindsRun(own: readonly string[], runs: string | null): Promise<string[]> {
    if (runs === null) return [...new Set(own)];
    const behind = await this.deps.parser.classify(runs);
    return [...new Set([...own, ...behind.statementKinds])];
  }

  /**
   * What a PREPARE, DECLARE, DEALLOCATE, CLOSE or DISCARD does to the names: what it may drop is
   * forgotten when it is sent, and what it creates is known once it completed without error.
   */
  private applyOnSend(effect: SqlLevelEffect | null, response: StatementResponse, requestId: string): void {
    if (effect === null) return;
    switch (effect.kind) {
      case 'prepare':
        this.protocol.forget([effect.name]);
        response.onOk = () => this.protocol.parsed(effect.name, effect.sql);
        return;
      case 'declare':
        this.protocol.closed('P', effect.name);
        response.onOk = () => this.protocol.bound(effect.name, { sql: effect.sql, statement: '', requestId });
        return;
      case 'deallocate':
        this.protocol.forget(effect.name === null ? 'all-statements' : [effect.name]);
        return;
      case 'close-cursor':
        if (effect.name === null) this.protocol.portals.clear();
        else this.protocol.closed('P', effect.name);
        return;
      case 'discard-all':
        this.protocol.forget('all');
        return;
      default: {
        const unknown: never = effect;
        throw new Error(`unknown effect ${String(unknown)}`);
      }
    }
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
    return new GatewayError(
      'AG_ERR_STATEMENT_TOO_LARGE',
      `a statement of ${bytes} bytes exceeds the ${limit} bytes the gateway parses (AG_PG_MAX_PARSED_SQL_BYTES); send large data as bound parameters or with COPY`,
    );
  }

  /**
   * A statement with backslashes or non-ASCII characters is read as the server will read it only
   * under settings the gateway follows. Statements already sent may change those settings, so
   * such a statement waits until the target has answered everything before it, then is checked
   * against the settings the target reported.
   */
  private async checkLexing(texts: readonly string[]): Promise<GatewayError | undefined> {
    if (!texts.some(lexingDependsOnSettings)) return undefined;
    await this.settle();
    return unfollowableLexing(this.lexing);
  }

  /**
   * Waits until the target has answered everything sent. The server holds its answers until
   * Sync, Flush or a full buffer, so a Flush goes first when the last batch ended without one
   * (harmless: it only makes the server send what it has).
   */
  private async settle(): Promise<void> {
    if (this.unflushed) {
      this.deps.upstream.send(FLUSH.raw);
      this.unflushed = false;
    }
    await this.deps.pump.idle();
    this.unconfirmed.statements.clear();
    this.unconfirmed.portals.clear();
  }

  /** Whether the batch names a statement or portal with a change sent but not yet answered. */
  private usesUnconfirmed(batch: readonly FrontendMessage[]): boolean {
    if (this.deps.pump.isIdle) {
      this.unconfirmed.statements.clear();
      this.unconfirmed.portals.clear();
      return false;
    }
    return batch.some(
      (m) =>
        (m.type === 'Bind' && (this.unconfirmed.statements.has(m.statement) || this.unconfirmed.portals.has(m.portal))) ||
        (m.type === 'Execute' && this.unconfirmed.portals.has(m.portal)),
    );
  }

  /**
   * Whether the batch parses an EXECUTE or FETCH while the target has not answered everything
   * sent: the PREPARE or DECLARE it names may be among what is unanswered, and the gateway
   * follows SQL-level names only from what the target confirmed. Parsing here costs nothing
   * extra: results are cached by text and the batch's decisions parse the same texts.
   */
  private async runsUnconfirmedSqlName(batch: readonly FrontendMessage[]): Promise<boolean> {
    if (this.deps.pump.isIdle) return false;
    for (const m of batch) {
      if (m.type !== 'Parse') continue;
      if (runsSqlLevelName((await this.deps.parser.classify(m.sql)).statements)) return true;
    }
    return false;
  }

  /** How many first rows a response keeps for the audit log (masked as the agent got them, then redacted). */
  private sampleLimits(): SampleLimits {
    return { rows: this.deps.config.sampleRows, bytes: this.deps.config.sampleBytes };
  }
}

/** A decision of an extended batch that was allowed: its request and the response it will get. */
interface Allowed {
  requestId: string;
  sql: string;
  covers: BatchDecision['covers'];
  response: StatementResponse;
}

/** EXECUTE, FETCH and MOVE run what a PREPARE or DECLARE put under a name. */
function runsSqlLevelName(statements: readonly { kind: string }[]): boolean {
  return statements.some((st) => st.kind === 'ExecuteStmt' || st.kind === 'FetchStmt');
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
    ? unknownStatementError(refusal.name)
    : new GatewayError('AG_ERR_PORTAL_UNKNOWN', `portal "${refusal.name}" is not one the gateway saw the target confirm`);
}

function unknownStatementError(name: string): GatewayError {
  return new GatewayError('AG_ERR_STATEMENT_UNKNOWN', `prepared statement "${name}" is not one the gateway saw the target confirm`);
}

const NO_REFERENCES: SqlReferences = { runs: null, unknownStatement: null, effect: null };

/** A statement as the agent sent it, for the blast radius estimate (never recorded). */
interface RawStatement {
  text: string;
  parameters: (string | null)[];
}

/** Bound parameters as text, or null when one is in binary format (the estimate then is not made). */
function textParameters(params: readonly (Buffer | null)[], formats: readonly number[]): (string | null)[] | null {
  const binary = (i: number): boolean => (formats.length === 1 ? formats[0] : formats[i]) === 1;
  if (params.some((p, i) => p !== null && binary(i))) return null;
  return params.map((p) => (p === null ? null : p.toString('utf8')));
}

/** Tells the agent its statement waits for approval, and where an approver decides it. */
function approvalNotice(approvalId: string, approvalsUrl: string, waitMs: number): Buffer {
  return noticeResponse({
    severity: 'NOTICE',
    code: '00000',
    message: `agentgate: this statement needs approval ${approvalId}; waiting up to ${Math.round(waitMs / 1000)} s`,
    detail: `approve at ${approvalsUrl}/v1/approvals/${approvalId} or with: npx agentgate approvals approve ${approvalId}`,
    hint: 'If the wait ends first, run the same statement again once it is approved.',
  });
}

function denialError(verdict: VerdictIssued): GatewayError {
  if (verdict.decision === 'pending_approval') {
    return verdict.approvalId === null
      ? new GatewayError('AG_ERR_POLICY_DENIED', 'statement needs approval, and no approval could be requested')
      : new GatewayError('AG_ERR_APPROVAL_PENDING', `statement waits for approval ${verdict.approvalId}; run it again once it is approved`);
  }
  if (verdict.errorCode === 'AG_ERR_APPROVAL_DENIED' || verdict.errorCode === 'AG_ERR_APPROVAL_EXPIRED') {
    return new GatewayError(
      verdict.errorCode,
      `statement ${verdict.errorCode === 'AG_ERR_APPROVAL_DENIED' ? 'denied' : 'not approved in time'}: approval ${verdict.approvalId ?? ''}`,
    );
  }
  return new GatewayError('AG_ERR_POLICY_DENIED', `statement refused by policy rule ${verdict.ruleId ?? '(default)'}`);
}

function denialDetail(verdict: VerdictIssued, error: GatewayError): string {
  const approval = verdict.approvalId === null ? '' : `; approval=${verdict.approvalId}`;
  return `code=${error.code}; rule=${verdict.ruleId ?? 'default'}; policy=${verdict.policyVersion}; request=${verdict.requestId}${approval}; reason=${verdict.reason}`;
}

function emptyResponse(requestId: string, outcome: ResponseObserved['outcome'], errorCode: string, errorMessage: string): ResponseObserved {
  return responseObserved(requestId, outcome, { errorCode, errorMessage });
}
