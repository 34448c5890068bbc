// `ssh host command`: the command is a request, decided before the target sees it. Once
// allowed it runs on the target; its output reaches the agent through the verdict's detectors
// (masked across chunk boundaries), and the response records exit status or signal and each
// stream's size and digest.
import type { PseudoTtyInfo, ServerChannel } from 'ssh2';
import type { CompiledPlan } from '@agentgate/masking';
import { StreamMasker } from '@agentgate/terminal';
import { StreamTally, sshDetail, sshResponse } from './requests.js';
import { type ChannelContext, failChannel, refuseChannel } from './session.js';

export interface ExecRequest {
  command: string;
  pty: PseudoTtyInfo | undefined;
  environment: ReadonlyMap<string, string>;
}

/** A pass-through when nothing is masked. */
export interface OutputFilter {
  push(chunk: Uint8Array): Buffer;
  /** An idle tick: what is held, but an open private key block. */
  flush(): Buffer;
  /** The end of the stream: everything held, masked. */
  end(): Buffer;
  counts(): Record<string, number>;
}

export function outputFilter(plan: CompiledPlan | undefined): OutputFilter {
  if (plan) return new StreamMasker(plan);
  return { push: (chunk) => Buffer.from(chunk), flush: () => Buffer.alloc(0), end: () => Buffer.alloc(0), counts: () => ({}) };
}

/** The counts `now` adds to `before` (TerminalRecorded counts what its own frames masked). */
export function countsSince(before: Record<string, number>, now: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(now)) if (n > (before[k] ?? 0)) out[k] = n - (before[k] ?? 0);
  return out;
}

export function mergeCounts(...all: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const counts of all) for (const [k, n] of Object.entries(counts)) out[k] = (out[k] ?? 0) + n;
  return out;
}

/** Ends the agent's channel the way the target's ended: its exit status, or the signal that ended it. */
export function passExit(channel: ServerChannel, exitStatus: number | null, exitSignal: string | null): void {
  try {
    if (exitSignal !== null) channel.exit(exitSignal, false, '');
    else channel.exit(exitStatus ?? 0);
    channel.end();
  } catch {
    // The agent is gone already.
  }
}

export async function runExec(ctx: ChannelContext, channel: ServerChannel, request: ExecRequest): Promise<void> {
  const untrack = ctx.track(channel);
  // Nothing the agent sends reaches the target before the verdict.
  channel.pause();
  channel.on('error', () => {});
  let requestId: string | undefined;
  try {
    const decided = await ctx.decide(
      sshDetail({
        channel: 'exec',
        command: request.command,
        environment: [...request.environment.keys()],
        ptyTerm: request.pty?.term ?? null,
        ptyCols: request.pty?.cols ?? null,
        ptyRows: request.pty?.rows ?? null,
      }),
    );
    requestId = decided.request.payload.requestId;
    if (decided.verdict.payload.decision !== 'allow') {
      untrack();
      refuseChannel(channel, decided.verdict);
      ctx.respond(sshResponse(requestId, 'denied', { errorCode: decided.verdict.payload.errorCode ?? 'AG_ERR_POLICY_DENIED' }));
      return;
    }
    const plan = ctx.planOf(decided);
    const target = await ctx.target();
    const started = process.hrtime.bigint();
    const upstream = await new Promise<import('ssh2').ClientChannel>((resolve, reject) =>
      target.exec(
        request.command,
        {
          env: Object.fromEntries(request.environment),
          ...(request.pty ? { pty: { term: request.pty.term, cols: request.pty.cols, rows: request.pty.rows } } : {}),
        },
        (err, stream) => (err ? reject(err) : resolve(stream)),
      ),
    );
    const stdout = new StreamTally('stdout');
    const stderr = new StreamTally('stderr');
    const stdin = new StreamTally('stdin');
    const outMask = outputFilter(plan);
    const errMask = outputFilter(plan);
    let exitStatus: number | null = null;
    let exitSignal: string | null = null;
    const send = (to: NodeJS.WritableStream, tally: StreamTally, bytes: Buffer): boolean => {
      if (bytes.length === 0) return true;
      tally.add(bytes);
      return to.write(bytes);
    };
    upstream.on('data', (chunk: Buffer) => {
      if (!send(channel, stdout, outMask.push(chunk))) {
        upstream.pause();
        channel.once('drain', () => upstream.resume());
      }
    });
    upstream.stderr.on('data', (chunk: Buffer) => {
      if (!send(channel.stderr, stderr, errMask.push(chunk))) {
        upstream.stderr.pause();
        channel.stderr.once('drain', () => upstream.stderr.resume());
      }
    });
    upstream.on('exit', (code: number | null, signal?: string) => {
      if (typeof code === 'number') exitStatus = code;
      if (signal) exitSignal = signal.replace(/^SIG/, '');
    });
    channel.on('data', (chunk: Buffer) => {
      stdin.add(chunk);
      if (!upstream.write(chunk)) {
        channel.pause();
        upstream.once('drain', () => channel.resume());
      }
    });
    channel.on('end', () => upstream.end());
    channel.on('close', () => upstream.close());
    channel.resume();
    upstream.on('close', () => {
      send(channel, stdout, outMask.end());
      send(channel.stderr, stderr, errMask.end());
      passExit(channel, exitStatus, exitSignal);
      untrack();
      ctx.respond(
        sshResponse(requestId!, exitStatus === 0 && exitSignal === null ? 'ok' : 'error', {
          durationUs: Number((process.hrtime.bigint() - started) / 1000n),
          exitStatus,
          exitSignal,
          streams: [stdout.digest(), stderr.digest(), stdin.digest()],
          masking: mergeCounts(outMask.counts(), errMask.counts()),
        }),
      );
    });
  } catch (err) {
    untrack();
    const error = failChannel(channel, err);
    ctx.log.warn({ code: error.code }, 'exec refused: the gateway could not decide or run it');
    if (requestId) ctx.respond(sshResponse(requestId, 'failed', { errorCode: error.code, errorMessage: error.message }));
  }
}
