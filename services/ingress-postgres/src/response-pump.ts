// Relays the target's messages to the agent, in order, as they come (streaming with
// backpressure), and records each executed statement's ResponseObserved before its
// completion message (CommandComplete, EmptyQueryResponse, ErrorResponse) is released.
//
// Wire facts this relies on ("Message Flow" in the PostgreSQL protocol chapter):
//   Parse -> ParseComplete | ErrorResponse        Bind -> BindComplete | ErrorResponse
//   Close -> CloseComplete | ErrorResponse        Describe portal -> RowDescription | NoData
//   Describe statement -> ParameterDescription, then RowDescription | NoData
//   Execute -> DataRow* then CommandComplete | EmptyQueryResponse | PortalSuspended | ErrorResponse
//              (or CopyIn/CopyOut responses, copy data, then CommandComplete)
//   Sync -> ReadyForQuery; after an ErrorResponse the server skips every message until Sync.
//   Query -> per statement: [RowDescription, DataRow*] CommandComplete | EmptyQueryResponse,
//            or ErrorResponse which ends the string; then ReadyForQuery.
//   FunctionCall -> FunctionCallResponse 'V' (Int32 length or -1 for NULL, Byte(length) value)
//              | ErrorResponse; then ReadyForQuery.
//   NoticeResponse, NotificationResponse and ParameterStatus may arrive at any time.
import { createHash, type Hash } from 'node:crypto';
import type { ColumnInfo, ResponseObserved } from '@agentgate/events';
import { markFirstReply, newTiming, observeMasking, observeStatement, type StatementTiming } from './stage-metrics.js';
import { GatewayError } from '@agentgate/errors';
import { redactValue, redactValues } from './audit-redaction.js';
import { copyOutAllowed } from '@agentgate/masking';
import type { ResultMasking } from './result-masking.js';
import { maskMessageFields, maskNotification } from './message-masking.js';
import { maskDataRow, planRowMasking } from './row-masking.js';
import {
  decodeCommandComplete,
  decodeErrorFields,
  decodeParameterStatus,
  decodeReadyForQuery,
  decodeRowDescription,
  type BackendFrame,
  type TransactionStatus,
} from '@agentgate/pg-wire';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One DataRow's values as text: UTF-8 where it decodes, \x hex otherwise (binary format). */
export function dataRowValues(raw: Buffer): (string | null)[] {
  // DataRow: Byte1('D') Int32 length Int16 count, then per column Int32 length (-1 = NULL) and bytes.
  const count = raw.readInt16BE(5);
  const values: (string | null)[] = [];
  let offset = 7;
  for (let i = 0; i < count; i++) {
    const length = raw.readInt32BE(offset);
    offset += 4;
    if (length < 0) {
      values.push(null);
      continue;
    }
    const bytes = raw.subarray(offset, offset + length);
    offset += length;
    try {
      values.push(utf8.decode(bytes));
    } catch {
      values.push(`\\x${bytes.toString('hex')}`);
    }
  }
  return values;
}

/** The value of a FunctionCallResponse ('V'): \x hex when the call asked for a binary result. */
export function functionResultValue(raw: Buffer, binary: boolean): string | null {
  // Byte1('V') Int32 length Int32 value length (-1 = NULL) Byte(n) value.
  const length = raw.readInt32BE(5);
  if (length < 0) return null;
  const bytes = raw.subarray(9, 9 + length);
  if (binary) return `\\x${bytes.toString('hex')}`;
  try {
    return utf8.decode(bytes);
  } catch {
    return `\\x${bytes.toString('hex')}`;
  }
}

/** How many first rows a response keeps; zero rows when the verdict plans masking (not applied yet). */
export interface SampleLimits {
  rows: number;
  bytes: number;
}

/** The response of one executed statement, accumulated while it streams. */
export class StatementResponse {
  readonly startedNs = process.hrtime.bigint();
  rowCount = 0;
  private readonly samples: (string | null)[][] = [];
  private sampleBytes = 0;
  private truncated = false;
  bytes = 0;
  copyInBytes = 0;
  readonly commandTags: string[] = [];
  columns: ColumnInfo[] = [];
  readonly digest: Hash = createHash('sha256');
  error: { code: string; message: string } | undefined;
  /** Set once its ResponseObserved has been handed to the audit log. */
  recorded = false;
  /** Runs once the statement completed without error (after its response is recorded). */
  onOk: (() => void) | undefined;
  /** Its way through the ingress, for the stage histograms (stage-metrics.ts). */
  readonly timing: StatementTiming = newTiming();
  /** What the verdict's masking plan does to this result; undefined when it plans none. */
  masking: ResultMasking | undefined;

  constructor(
    readonly requestId: string,
    private readonly limits: SampleLimits = { rows: 0, bytes: 0 },
  ) {}

  /** Counts a data row, digests it and keeps it as a sample while within the limits. */
  addRow(raw: Buffer): void {
    this.rowCount++;
    this.digest.update(raw);
    if (this.truncated) return;
    if (raw[0] === 0x44 /* 'D' */ && this.samples.length < this.limits.rows && this.sampleBytes + raw.length <= this.limits.bytes) {
      this.samples.push(dataRowValues(raw));
      this.sampleBytes += raw.length;
    } else {
      this.truncated = true;
    }
  }

  /** Counts a fast-path call's result (FunctionCallResponse) as one row, digests it and keeps it as a sample while within the limits. */
  addFunctionResult(raw: Buffer, binary: boolean): void {
    this.rowCount++;
    this.digest.update(raw);
    if (this.truncated) return;
    if (this.samples.length < this.limits.rows && this.sampleBytes + raw.length <= this.limits.bytes) {
      this.samples.push([functionResultValue(raw, binary)]);
      this.sampleBytes += raw.length;
    } else {
      this.truncated = true;
    }
  }

  summary(outcome: ResponseObserved['outcome']): ResponseObserved {
    return {
      requestId: this.requestId,
      outcome,
      commandTags: [...this.commandTags],
      rowCount: this.rowCount,
      columns: this.columns,
      durationUs: Number((process.hrtime.bigint() - this.startedNs) / 1000n),
      bytes: this.bytes + this.copyInBytes,
      // Redacted as recorded, not as kept: the agent got the rows as they are.
      sampleRows: this.samples.map((row) => redactValues(row)),
      sampleTruncated: this.truncated,
      resultDigest: this.digest.copy().digest('hex'),
      errorCode: this.error?.code ?? null,
      // The server's message may quote a value (invalid input syntax for type integer: "...").
      errorMessage: redactValue(this.error?.message ?? null),
      exitStatus: null,
      exitSignal: null,
      streams: [],
      httpStatus: null,
      bodySample: null,
      masking: this.masking ? Object.entries(this.masking.tally.toJSON()).map(([key, count]) => ({ key, count })) : [],
    };
  }
}

/** What a Parse, Bind or Close expectation does with the server's answer. */
export interface SingleHooks {
  /** ParseComplete, BindComplete or CloseComplete arrived: the server now holds (or dropped) the object. */
  confirmed?: () => void;
  /** The audited request this message belongs to: recorded on error, and on success when `recordOnSuccess`. */
  response?: StatementResponse;
  recordOnSuccess?: boolean;
}

export type Expectation =
  | ({ kind: 'single' } & SingleHooks)
  | { kind: 'describe-statement' }
  | { kind: 'execute'; response: StatementResponse }
  | { kind: 'simple'; responses: StatementResponse[]; next: number; failed?: boolean }
  | { kind: 'sync' }
  /**
   * A Describe of the portal the gateway added after a Bind whose verdict masks the result: its
   * RowDescription (with the formats the Bind chose) names the columns, and it is not relayed.
   */
  | { kind: 'describe-masking'; response: StatementResponse }
  /** A fast-path FunctionCall: its result ('V') or error, then ReadyForQuery. */
  | { kind: 'function-call'; response: StatementResponse; binaryResult: boolean }
  | { kind: 'local'; frames: Buffer[] }
  /**
   * A message the gateway injected so that the server itself raises an error where a refused
   * message stood (and so aborts the transaction as PostgreSQL would): the server's
   * ErrorResponse is replaced by the gateway's `frame`. `simple` expects ReadyForQuery to follow.
   */
  | { kind: 'refused'; frame: Buffer; simple: boolean };

export interface PumpSink {
  /** Writes to the agent; false when the agent's buffer is full. */
  write(bytes: Buffer): boolean;
  drained(): Promise<void>;
}

export interface PumpHooks {
  /** Records a finished statement; must resolve before its completion is released. */
  record(response: StatementResponse, outcome: ResponseObserved['outcome']): Promise<void>;
  /** ParameterStatus: the server reports a run-time setting (after SET, RESET, set_config, ...). */
  parameterStatus?(name: string, value: string): void;
  /** ReadyForQuery arrived with this transaction status. */
  ready?(status: TransactionStatus): void;
  /** A statement completed with this command tag (DDL may rename what masking names). */
  completed?(commandTag: string): void;
  /**
   * The pump cannot go on (target gone, audit log down): the session must end. `targetEnded`
   * is true when the target itself ended the session with a FATAL or PANIC ErrorResponse,
   * already relayed to the agent, so the agent needs no second error.
   */
  ended(error: unknown, targetEnded: boolean): void;
}

const ASYNC_TYPES = new Set(['A', 'N', 'S']);

function mismatch(what: string): GatewayError {
  return new GatewayError('AG_ERR_PROTOCOL_VIOLATION', `the target and the gateway split a query string differently: ${what}`);
}

/** Whether an ErrorResponse ends the session: severity FATAL or PANIC ('V' when sent, else 'S'). */
function isSessionEnding(raw: Buffer): boolean {
  const severity = decodeErrorFields(raw).severity;
  return severity === 'FATAL' || severity === 'PANIC';
}

/**
 * A row of a masked result as it may reach the agent: DataRow cells by the plan's columns;
 * COPY TO data (text format, one row per CopyData) through the plan's detectors. A DataRow
 * before any RowDescription cannot be attributed, so it is refused rather than relayed.
 */
function maskedRow(masking: ResultMasking, frame: BackendFrame): Buffer {
  const started = performance.now();
  try {
    return maskedRowUntimed(masking, frame);
  } finally {
    masking.elapsedMs += performance.now() - started;
  }
}

function maskedRowUntimed(masking: ResultMasking, frame: BackendFrame): Buffer {
  if (frame.type === 'D') {
    if (!masking.rows) throw new GatewayError('AG_ERR_MASKING_UNSUPPORTED', 'a masked result sent rows before describing its columns');
    return maskDataRow(frame.raw, masking.rows, masking.plan, masking.tally);
  }
  const text = utf8Lenient.decode(frame.raw.subarray(5));
  const masked = masking.plan.maskText(text);
  if (masked.fired.length === 0) return frame.raw;
  for (const d of masked.fired) masking.tally.record({ kind: 'detect', label: 'copy' }, { value: null, masked: true, fired: [d] });
  // A detector whose strategy is null blanks the whole row: COPY has no NULL for a row.
  const body = Buffer.from(masked.text ?? '[REDACTED:copy-row]\n', 'utf8');
  const out = Buffer.alloc(5 + body.length);
  out[0] = 0x64; // 'd'
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

/** The statement an expectation answers for, when it has one. */
function expectationResponse(e: Expectation): StatementResponse | undefined {
  switch (e.kind) {
    case 'execute':
    case 'function-call':
    case 'describe-masking':
      return e.response;
    case 'simple':
      return e.responses[Math.min(e.next, e.responses.length - 1)];
    case 'single':
      return e.response;
    default:
      return undefined;
  }
}

/**
 * CopyOutResponse: Int8 overall format (0 text, 1 binary). COPY data has no column description:
 * only the plan's detectors can apply, so COPY TO passes only where the plan allows that
 * (copyOutAllowed), and binary COPY, which detectors cannot read, never does.
 */
function checkCopyOut(masking: ResultMasking, raw: Buffer): void {
  if (raw[5] === 1)
    throw new GatewayError(
      'AG_ERR_MASKING_UNSUPPORTED',
      'policy masks this result and binary COPY is not masked; use COPY in text or CSV format',
    );
  if (!copyOutAllowed(masking.plan.plan)) {
    throw new GatewayError(
      'AG_ERR_MASKING_UNSUPPORTED',
      'policy masks columns of this result and COPY TO output cannot be masked by column; use SELECT, or a masking set with copyOut: detectors',
    );
  }
}

const utf8Lenient = new TextDecoder('utf-8');

/** Rows of a masked result masked together at most (see relayRows). */
const MASK_BATCH_ROWS = 256;

export class ResponsePump {
  private readonly queue: Expectation[] = [];
  /** The target reported an error in the extended protocol and skips until Sync. */
  private skipping = false;
  private status: TransactionStatus = 'I';
  private stopped = false;
  private targetEnded = false;
  private readonly idleWaiters: (() => void)[] = [];
  /** The agent's socket asked to wait before the next write. */
  private mustDrain = false;
  /**
   * The masking of the session's latest statement that had one: notices and notifications
   * arrive outside any statement's result, and are masked by it (before the first masked
   * statement, a session's policy has masked nothing yet).
   */
  private lastMasking: ResultMasking | undefined;
  /** A frame taken from the queue after a batch of rows, handled next. */
  private held: BackendFrame | undefined;
  // A batch of a masked result's rows, as they came and as they go; reused, entries cleared after use.
  private readonly batchIn: (BackendFrame | undefined)[] = [];
  private readonly batchOut: (Buffer | undefined)[] = [];

  constructor(
    private readonly nextFrame: () => Promise<BackendFrame>,
    private readonly sink: PumpSink,
    private readonly hooks: PumpHooks,
    /** A frame already queued, if any: rows are then relayed without a turn of the event loop each. */
    private readonly takeFrame: () => BackendFrame | undefined = () => undefined,
  ) {}

  /** Whether a response is still expected from the target. */
  get busy(): boolean {
    return this.queue.length > 0;
  }

  /** Transaction status of the last ReadyForQuery. */
  get transactionStatus(): TransactionStatus {
    return this.status;
  }

  /** The statement whose response is streaming now (COPY FROM STDIN bytes count toward it). */
  get current(): StatementResponse | undefined {
    const head = this.queue[0];
    if (head?.kind === 'execute') return head.response;
    if (head?.kind === 'simple') return head.responses[head.next];
    return undefined;
  }

  /** Announces what the target will answer to a message about to be forwarded (call before sending). */
  expect(expectation: Expectation): void {
    const masking = expectationResponse(expectation)?.masking;
    if (masking) this.lastMasking = masking;
    if (this.skipping && expectation.kind !== 'sync' && expectation.kind !== 'local') {
      // The target ignores these up to Sync: they never run.
      if (expectation.kind === 'execute' || expectation.kind === 'function-call') void this.skip(expectation.response);
      return;
    }
    if (expectation.kind === 'local' && this.queue.length === 0) {
      for (const frame of expectation.frames) this.sink.write(frame);
      return;
    }
    this.queue.push(expectation);
  }

  stop(): void {
    this.stopped = true;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** True when no answer from the target is outstanding. */
  get isIdle(): boolean {
    return this.queue.length === 0;
  }

  /** Resolves once the target has answered everything sent so far (at once when it has). */
  idle(): Promise<void> {
    if (this.queue.length === 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Runs until the target connection ends or a fatal error. */
  async run(): Promise<void> {
    try {
      while (!this.stopped) {
        const frame = this.held ?? this.takeFrame() ?? (await this.nextFrame());
        this.held = undefined;
        if (this.relayRows(frame)) {
          if (this.mustDrain) {
            this.mustDrain = false;
            await this.sink.drained();
          }
          continue;
        }
        await this.handle(frame);
        if (frame.type === 'Z') this.hooks.ready?.(this.status);
        this.flushLocal();
        if (this.queue.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
    } catch (err) {
      if (!this.stopped) this.hooks.ended(err, this.targetEnded);
    }
  }

  private flushLocal(): void {
    while (this.queue[0]?.kind === 'local') {
      const head = this.queue.shift() as { kind: 'local'; frames: Buffer[] };
      for (const frame of head.frames) this.sink.write(frame);
    }
  }

  /** Records a response once: a refused Bind and its skipped Execute share one request. */
  private async record(response: StatementResponse, outcome: ResponseObserved['outcome']): Promise<void> {
    if (response.recorded) return;
    response.recorded = true;
    const completeAt = performance.now();
    if (response.masking) observeMasking(response.rowCount, response.masking.elapsedMs);
    await this.hooks.record(response, outcome);
    observeStatement(response.timing, completeAt, performance.now(), response.masking !== undefined);
    if (outcome === 'ok') response.onOk?.();
  }

  private async recordError(response: StatementResponse, frame: BackendFrame): Promise<void> {
    const fields = decodeErrorFields(frame.raw);
    response.error = { code: fields.code, message: fields.message };
    await this.record(response, fields.code === '57014' ? 'cancelled' : 'error');
  }

  private async skip(response: StatementResponse): Promise<void> {
    response.error = { code: 'skipped', message: 'not executed: an earlier message of the same batch failed' };
    await this.record(response, 'cancelled');
  }

  /**
   * The common case of a large result, a row of the statement streaming now, handled without
   * awaiting: counted, digested, written. The same as handleExecute and handleSimple do for
   * 'D' and 'd'; false when the frame needs the general path.
   */
  private relayRows(frame: BackendFrame): boolean {
    if (frame.type !== 'D' && frame.type !== 'd') return false;
    const head = this.queue[0];
    let r: StatementResponse | undefined;
    if (head?.kind === 'execute') r = head.response;
    else if (head?.kind === 'simple' && head.next < head.responses.length) r = head.responses[head.next];
    if (r === undefined) return false;
    markFirstReply(r.timing);
    if (r.masking) {
      this.relayMaskedRows(r, r.masking, frame);
      return true;
    }
    r.bytes += frame.raw.length;
    r.addRow(frame.raw);
    if (!this.sink.write(frame.raw)) this.mustDrain = true;
    return true;
  }

  /**
   * Rows of a masked result: `first` and the rows already queued behind it are masked together,
   * then counted, digested and written in order. Masking them in one go times it once per batch,
   * not with two clock reads per row (alternating runs showed no latency change beyond the noise:
   * docs/benchmarks.md, masking's sixth pass); the frame after the batch, if one was taken, is
   * handled next. A row that cannot be masked
   * ends the session: the rows masked before it are still relayed first, as they would have
   * been one by one.
   */
  private relayMaskedRows(r: StatementResponse, masking: ResultMasking, first: BackendFrame): void {
    const frames = this.batchIn;
    const outs = this.batchOut;
    let n = 0;
    let failure: unknown;
    const started = performance.now();
    try {
      let frame: BackendFrame | undefined = first;
      for (;;) {
        frames[n] = frame;
        outs[n] = maskedRowUntimed(masking, frame);
        n++;
        frame = n < MASK_BATCH_ROWS ? this.takeFrame() : undefined;
        if (frame === undefined) break;
        if (frame.type !== 'D' && frame.type !== 'd') {
          this.held = frame;
          break;
        }
      }
    } catch (err) {
      failure = err;
      frames[n] = undefined;
    } finally {
      masking.elapsedMs += performance.now() - started;
    }
    for (let i = 0; i < n; i++) {
      const out = outs[i]!;
      r.bytes += frames[i]!.raw.length;
      r.addRow(out);
      if (!this.sink.write(out)) this.mustDrain = true;
      frames[i] = undefined;
      outs[i] = undefined;
    }
    if (failure !== undefined) throw failure;
  }

  /** Plans the masking of a result from its RowDescription (naming its tables on the target first). */
  private async planMasking(masking: ResultMasking, raw: Buffer): Promise<void> {
    const started = performance.now();
    try {
      const columns = decodeRowDescription(raw);
      const tableOids = [...new Set(columns.filter((c) => c.tableOid !== 0).map((c) => c.tableOid))];
      const relationOf = tableOids.length > 0 ? await masking.relations(tableOids) : () => undefined;
      masking.rows = planRowMasking(columns, masking.connection, masking.plan, relationOf);
    } finally {
      masking.elapsedMs += performance.now() - started;
    }
  }

  private completed(r: StatementResponse, tag: string): void {
    r.commandTags.push(tag);
    this.hooks.completed?.(tag);
  }

  private async forward(frame: BackendFrame): Promise<void> {
    if (!this.sink.write(this.maskedMessage(frame))) await this.sink.drained();
  }

  /** Errors, notices and notifications as they may reach the agent: values they quote masked. */
  private maskedMessage(frame: BackendFrame): Buffer {
    if (frame.type !== 'E' && frame.type !== 'N' && frame.type !== 'A') return frame.raw;
    const masking = this.currentMasking() ?? this.lastMasking;
    if (!masking) return frame.raw;
    return frame.type === 'A'
      ? maskNotification(frame.raw, masking.plan, masking.tally)
      : maskMessageFields(frame.raw, masking.plan, masking.tally);
  }

  private currentMasking(): ResultMasking | undefined {
    const head = this.queue[0];
    return head ? expectationResponse(head)?.masking : undefined;
  }

  private async handle(frame: BackendFrame): Promise<void> {
    if (frame.type === 'E' && isSessionEnding(frame.raw)) this.targetEnded = true;
    if (frame.type === 'S' && this.hooks.parameterStatus) {
      const { name, value } = decodeParameterStatus(frame.raw);
      this.hooks.parameterStatus(name, value);
    }
    const head = this.queue[0];
    if (ASYNC_TYPES.has(frame.type) || head === undefined) {
      await this.forward(frame);
      return;
    }
    if (head.kind === 'execute') markFirstReply(head.response.timing);
    else if (head.kind === 'simple' && head.next < head.responses.length) markFirstReply(head.responses[head.next]!.timing);
    switch (head.kind) {
      case 'single':
        if (frame.type === 'E') {
          if (head.response) await this.recordError(head.response, frame);
          return this.extendedError(frame);
        }
        this.queue.shift();
        head.confirmed?.();
        if (head.response && head.recordOnSuccess) await this.record(head.response, 'ok');
        return this.forward(frame);
      case 'refused':
        if (frame.type === 'E') {
          if (!head.simple) {
            this.queue.shift();
            await this.forward({ type: 'E', raw: head.frame });
            this.enterSkipping();
            return;
          }
          return this.forward({ type: 'E', raw: head.frame });
        }
        if (frame.type === 'Z') {
          this.status = decodeReadyForQuery(frame.raw);
          this.queue.shift();
        }
        return this.forward(frame);
      case 'describe-masking':
        if (frame.type === 'E') return this.extendedError(frame);
        this.queue.shift();
        // RowDescription or NoData: what the gateway asked, so nothing reaches the agent.
        if (frame.type === 'T' && head.response.masking) await this.planMasking(head.response.masking, frame.raw);
        return;
      case 'describe-statement':
        if (frame.type === 'E') return this.extendedError(frame);
        if (frame.type !== 't') this.queue.shift();
        return this.forward(frame);
      case 'execute':
        return this.handleExecute(head, frame);
      case 'simple':
        return this.handleSimple(head, frame);
      case 'function-call':
        return this.handleFunctionCall(head, frame);
      case 'sync':
        if (frame.type === 'Z') {
          this.status = decodeReadyForQuery(frame.raw);
          this.skipping = false;
          this.queue.shift();
        }
        return this.forward(frame);
      case 'local':
        // flushLocal() empties local heads before the next frame is read.
        return this.forward(frame);
      default: {
        const unknown: never = head;
        throw new Error(`unknown expectation ${String(unknown)}`);
      }
    }
  }

  private async extendedError(frame: BackendFrame): Promise<void> {
    this.queue.shift();
    await this.forward(frame);
    this.enterSkipping();
  }

  /** After an extended-protocol error the target ignores everything up to Sync. */
  private enterSkipping(): void {
    this.skipping = true;
    while (this.queue.length > 0 && this.queue[0]!.kind !== 'sync') {
      const dropped = this.queue.shift()!;
      if (dropped.kind === 'execute') void this.skip(dropped.response);
      if (dropped.kind === 'single' && dropped.response) void this.skip(dropped.response);
      if (dropped.kind === 'local') for (const f of dropped.frames) this.sink.write(f);
    }
  }

  private async handleExecute(head: { response: StatementResponse }, frame: BackendFrame): Promise<void> {
    const r = head.response;
    r.bytes += frame.raw.length;
    switch (frame.type) {
      case 'D':
      case 'd': {
        const out = r.masking ? maskedRow(r.masking, frame) : frame.raw;
        r.addRow(out);
        return this.forward({ type: frame.type, raw: out });
      }
      case 'T':
        r.columns = decodeRowDescription(frame.raw).map((c) => ({ name: c.name, typeOid: c.typeOid }));
        return this.forward(frame);
      case 'H':
        if (r.masking) checkCopyOut(r.masking, frame.raw);
        return this.forward(frame);
      case 's':
        // PortalSuspended: the same statement goes on with the next Execute.
        this.queue.shift();
        return this.forward(frame);
      case 'C':
      case 'I':
        if (frame.type === 'C') this.completed(r, decodeCommandComplete(frame.raw));
        await this.record(r, 'ok');
        this.queue.shift();
        return this.forward(frame);
      case 'E': {
        const fields = decodeErrorFields(frame.raw);
        r.error = { code: fields.code, message: fields.message };
        await this.record(r, fields.code === '57014' ? 'cancelled' : 'error');
        await this.extendedError(frame);
        return;
      }
      default:
        // CopyInResponse, CopyOutResponse, CopyDone and the like pass through.
        return this.forward(frame);
    }
  }

  private async handleFunctionCall(head: { response: StatementResponse; binaryResult: boolean }, frame: BackendFrame): Promise<void> {
    const r = head.response;
    switch (frame.type) {
      case 'V':
        // The result is the call's completion: recorded before the agent gets it.
        r.bytes += frame.raw.length;
        r.addFunctionResult(frame.raw, head.binaryResult);
        await this.record(r, 'ok');
        return this.forward(frame);
      case 'E':
        r.bytes += frame.raw.length;
        await this.recordError(r, frame);
        return this.forward(frame);
      case 'Z':
        this.status = decodeReadyForQuery(frame.raw);
        // Neither a result nor an error (never from a server that follows the protocol): nothing ran to report.
        if (!r.recorded) {
          r.error = { code: 'no_result', message: 'the target answered the function call without a result' };
          await this.record(r, 'error');
        }
        this.queue.shift();
        return this.forward(frame);
      default:
        r.bytes += frame.raw.length;
        return this.forward(frame);
    }
  }

  private async handleSimple(head: { responses: StatementResponse[]; next: number; failed?: boolean }, frame: BackendFrame): Promise<void> {
    const r = head.responses[Math.min(head.next, head.responses.length - 1)];
    if (r) r.bytes += frame.raw.length;
    switch (frame.type) {
      case 'T':
        if (r) r.columns = decodeRowDescription(frame.raw).map((c) => ({ name: c.name, typeOid: c.typeOid }));
        if (r?.masking) await this.planMasking(r.masking, frame.raw);
        return this.forward(frame);
      case 'H':
        if (r?.masking) checkCopyOut(r.masking, frame.raw);
        return this.forward(frame);
      case 'D':
      case 'd': {
        const out = r?.masking ? maskedRow(r.masking, frame) : frame.raw;
        r?.addRow(out);
        return this.forward({ type: frame.type, raw: out });
      }
      case 'C':
      case 'I':
        // One completion per statement of the string: more than the gateway split means the
        // server read the string differently from the gateway's parser, and what ran was not
        // what was decided. The session ends before the completion is released.
        if (!r || head.next >= head.responses.length) throw mismatch('more statements completed than the gateway parsed');
        if (frame.type === 'C') this.completed(r, decodeCommandComplete(frame.raw));
        await this.record(r, 'ok');
        head.next++;
        return this.forward(frame);
      case 'E': {
        const fields = decodeErrorFields(frame.raw);
        if (r && head.next < head.responses.length) {
          r.error = { code: fields.code, message: fields.message };
          await this.record(r, fields.code === '57014' ? 'cancelled' : 'error');
          head.next++;
        }
        head.failed = true;
        // The rest of the string never runs.
        while (head.next < head.responses.length) await this.skip(head.responses[head.next++]!);
        return this.forward(frame);
      }
      case 'Z':
        // Without an error every statement completes; fewer completions is the same disagreement.
        if (!head.failed && head.next < head.responses.length) throw mismatch('fewer statements completed than the gateway parsed');
        this.status = decodeReadyForQuery(frame.raw);
        while (head.next < head.responses.length) await this.skip(head.responses[head.next++]!);
        this.queue.shift();
        return this.forward(frame);
      default:
        return this.forward(frame);
    }
  }
}
