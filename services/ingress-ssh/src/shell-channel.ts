// An interactive shell: one request, decided before the target opens it; then the whole
// terminal is recorded as asciicast frames (output, input, resizes). Each tick's frames are one
// TerminalRecorded event, and the bytes it holds move on only once Kafka has it: nothing reaches
// the agent or the target unrecorded. Output and input go through the verdict's detectors.
//
// What a shell cannot have: command-level control. Once a shell is open, what the agent types
// is keystrokes, not commands: line editing, history, aliases, here-documents and programs that
// read the terminal themselves make any "command" seen in the input a guess. Policy decides
// whether a shell opens at all (allow, deny, or approval); what happens inside is recorded in
// full and replayable, not decided per command. Agents that need per-command decisions use exec.
import { StringDecoder } from 'node:string_decoder';
import type { ClientChannel, PseudoTtyInfo, ServerChannel } from 'ssh2';
import { toGatewayError } from '@agentgate/errors';
import type { TerminalFrame } from '@agentgate/events';
import { countsSince, mergeCounts, type OutputFilter, outputFilter, passExit } from './exec-channel.js';
import { StreamTally, sshDetail, sshResponse } from './requests.js';
import { type ChannelContext, failChannel, refuseChannel } from './session.js';

export interface ShellRequest {
  pty: PseudoTtyInfo | undefined;
  environment: ReadonlyMap<string, string>;
}

// Pending bytes in either direction past which the producing side is paused.
const MAX_PENDING_BYTES = 1024 * 1024;

interface Pending {
  frames: TerminalFrame[];
  toAgent: Buffer[];
  toTarget: Buffer[];
  bytes: number;
}

/** Opens the shell; returns what the session calls on a window change. */
export function runShell(ctx: ChannelContext, channel: ServerChannel, request: ShellRequest): (cols: number, rows: number) => void {
  let resize: ((cols: number, rows: number) => void) | undefined;
  // Before the shell opens only the latest size matters.
  let latest: [number, number] | undefined;
  void openShell(ctx, channel, request, (fn) => {
    resize = fn;
    if (latest) fn(...latest);
  });
  return (cols, rows) => {
    if (resize) resize(cols, rows);
    else latest = [cols, rows];
  };
}

async function openShell(
  ctx: ChannelContext,
  channel: ServerChannel,
  request: ShellRequest,
  onReady: (resize: (cols: number, rows: number) => void) => void,
): Promise<void> {
  const untrack = ctx.track(channel);
  channel.pause();
  channel.on('error', () => {});
  let requestId: string | undefined;
  try {
    const pty = request.pty;
    const decided = await ctx.decide(
      sshDetail({
        channel: 'shell',
        environment: [...request.environment.keys()],
        ptyTerm: pty?.term ?? null,
        ptyCols: pty?.cols ?? null,
        ptyRows: pty?.rows ?? null,
      }),
    );
    const rid = decided.request.payload.requestId;
    requestId = rid;
    if (decided.verdict.payload.decision !== 'allow') {
      refuseChannel(channel, decided.verdict);
      ctx.respond(sshResponse(rid, 'denied', { errorCode: decided.verdict.payload.errorCode ?? 'AG_ERR_POLICY_DENIED' }));
      untrack();
      return;
    }
    const plan = ctx.planOf(decided);
    const target = await ctx.target();
    const upstream = await new Promise<ClientChannel>((resolve, reject) =>
      target.shell(
        pty ? { term: pty.term, cols: pty.cols, rows: pty.rows } : false,
        { env: Object.fromEntries(request.environment) },
        (err, stream) => (err ? reject(err) : resolve(stream)),
      ),
    );
    const startedUs = decided.request.timeUs;
    const started = process.hrtime.bigint();
    const outMask = outputFilter(plan);
    const inMask = outputFilter(plan);
    const outText = new StringDecoder('utf8');
    const inText = new StringDecoder('utf8');
    const toAgent = new StreamTally('stdout');
    const toTarget = new StreamTally('stdin');
    let pending: Pending = { frames: [], toAgent: [], toTarget: [], bytes: 0 };
    let recordedCounts: Record<string, number> = {};
    let arrivedThisTick = false;
    let inputThisTick = false;
    let recording = false;
    let draining = 0;
    let failed = false;
    let exitStatus: number | null = null;
    let exitSignal: string | null = null;
    let upstreamClosed = false;
    const offset = (): number => Math.max(ctx.deps.nowUs() - startedUs, 0);
    const addOutput = (masked: Buffer): void => {
      if (masked.length === 0) return;
      pending.toAgent.push(masked);
      pending.bytes += masked.length;
      const text = outText.write(masked);
      if (text !== '') pending.frames.push({ offsetUs: offset(), kind: 'o', data: text });
    };
    const addInput = (masked: Buffer, raw?: Buffer): void => {
      if (raw) {
        pending.toTarget.push(raw);
        pending.bytes += raw.length;
      }
      if (masked.length === 0) return;
      const text = inText.write(masked);
      if (text !== '') pending.frames.push({ offsetUs: offset(), kind: 'i', data: text });
    };
    const backpressure = (): void => {
      if (pending.bytes > MAX_PENDING_BYTES) {
        upstream.pause();
        channel.pause();
      }
    };
    upstream.on('data', (chunk: Buffer) => {
      arrivedThisTick = true;
      addOutput(outMask.push(chunk));
      backpressure();
    });
    upstream.stderr.on('data', (chunk: Buffer) => {
      arrivedThisTick = true;
      addOutput(outMask.push(chunk));
      backpressure();
    });
    channel.on('data', (chunk: Buffer) => {
      // The target gets what the agent typed; the recording gets it through the detectors.
      inputThisTick = true;
      addInput(inMask.push(chunk), chunk);
      backpressure();
    });
    upstream.on('exit', (code: number | null, signal?: string) => {
      if (typeof code === 'number') exitStatus = code;
      if (signal) exitSignal = signal.replace(/^SIG/, '');
    });

    const finish = (): void => {
      clearInterval(timer);
      passExit(channel, exitStatus, exitSignal);
      untrack();
      ctx.respond(
        sshResponse(rid, failed ? 'failed' : exitStatus === 0 && exitSignal === null ? 'ok' : 'error', {
          durationUs: Number((process.hrtime.bigint() - started) / 1000n),
          exitStatus,
          exitSignal,
          streams: [toAgent.digest(), toTarget.digest()],
          masking: mergeCounts(outMask.counts(), inMask.counts()),
          ...(failed
            ? { errorCode: 'AG_ERR_AUDIT_UNAVAILABLE', errorMessage: 'the terminal recording failed; the session was ended' }
            : {}),
        }),
      );
    };

    // One batch at a time: record it, then release its bytes in order.
    const tick = async (): Promise<void> => {
      // Nothing more is released while a side has not taken the last batch (bounded memory).
      if (recording || failed || draining > 0) return;
      // Output held back by the detectors is released once a tick passes with nothing new.
      if (!arrivedThisTick) addOutput(outMask.flush());
      if (!inputThisTick) addInput(inMask.flush());
      arrivedThisTick = false;
      inputThisTick = false;
      if (pending.frames.length === 0 && pending.toTarget.length === 0 && pending.toAgent.length === 0) {
        if (upstreamClosed) finish();
        return;
      }
      const batch = pending;
      pending = { frames: [], toAgent: [], toTarget: [], bytes: 0 };
      recording = true;
      try {
        const counted = mergeCounts(outMask.counts(), inMask.counts());
        if (batch.frames.length > 0) await ctx.recordTerminal(rid, batch.frames, countsSince(recordedCounts, counted));
        recordedCounts = counted;
      } catch (err) {
        failed = true;
        ctx.log.warn({ code: toGatewayError(err).code }, 'terminal recording failed: the shell is ended');
        failChannel(channel, err);
        upstream.close();
        finish();
        return;
      } finally {
        recording = false;
      }
      // Each side's source stays paused until the other side has taken what was released.
      let agentFull = false;
      for (const b of batch.toAgent) {
        toAgent.add(b);
        agentFull = !channel.write(b) || agentFull;
      }
      let targetFull = false;
      for (const b of batch.toTarget) {
        toTarget.add(b);
        targetFull = !upstream.write(b) || targetFull;
      }
      if (agentFull) {
        draining++;
        channel.once('drain', () => {
          draining--;
          upstream.resume();
        });
      } else upstream.resume();
      if (targetFull) {
        draining++;
        upstream.once('drain', () => {
          draining--;
          channel.resume();
        });
      } else channel.resume();
    };
    const timer = setInterval(() => void tick(), ctx.deps.config.terminalTickMs);
    upstream.on('close', () => {
      upstreamClosed = true;
      addOutput(outMask.end());
      addInput(inMask.end());
    });
    channel.on('close', () => {
      // The agent is gone: nothing waits for its drain any more.
      draining = 0;
      upstream.close();
    });
    onReady((cols, rows) => {
      pending.frames.push({ offsetUs: offset(), kind: 'r', data: `${cols}x${rows}` });
      upstream.setWindow(rows, cols, 0, 0);
    });
    channel.resume();
  } catch (err) {
    untrack();
    const error = failChannel(channel, err);
    ctx.log.warn({ code: error.code }, 'shell refused: the gateway could not decide or open it');
    if (requestId) ctx.respond(sshResponse(requestId, 'failed', { errorCode: error.code, errorMessage: error.message }));
  }
}

export type { OutputFilter };
