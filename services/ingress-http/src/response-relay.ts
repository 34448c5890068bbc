// An upstream response body on its way to the agent: through the verdict's masker (or
// unchanged), released event by event for server-sent events, counted, digested and sampled as
// the agent receives it. The caller's `write` gives backpressure: the next chunk is read from
// the upstream only once the agent has taken the last one.
import { createHash } from 'node:crypto';
import type { CompiledPlan } from '@agentgate/masking';
import { StreamMasker } from '@agentgate/terminal';
import { bodySample, SAMPLE_LOOKAHEAD_BYTES } from './audit-redaction.js';
import { EventBoundaries } from './event-boundaries.js';

/** A masker, or a pass-through when nothing is masked. */
export interface BodyFilter {
  push(chunk: Uint8Array): Buffer;
  /** Releases what is held (called at an event boundary). */
  flush(): Buffer;
  /** Releases everything held, at the end of the body. */
  end(): Buffer;
  counts(): Record<string, number>;
}

export function bodyFilter(plan: CompiledPlan | undefined): BodyFilter {
  if (plan) return new StreamMasker(plan);
  return { push: (chunk) => Buffer.from(chunk), flush: () => Buffer.alloc(0), end: () => Buffer.alloc(0), counts: () => ({}) };
}

export interface RelayOptions {
  body: AsyncIterable<Uint8Array>;
  filter: BodyFilter;
  /** text/event-stream: flush the filter at each event boundary. */
  sse: boolean;
  /** How many bytes of what the agent gets are recorded (bodySample); null: none (not text). */
  sampleBytes: number | null;
  /** Hands bytes to the agent; resolves once it may take more, rejects when it went away. */
  write(bytes: Buffer): Promise<void>;
}

export interface Relayed {
  bytes: number;
  /** Hex SHA-256 of the bytes the agent got. */
  sha256: string;
  sample: string | null;
  sampleTruncated: boolean;
  masking: Record<string, number>;
}

/** Relays the whole body; rejects with the upstream's or the agent's error (the caller decides what it means). */
export async function relayBody(options: RelayOptions): Promise<Relayed> {
  const { filter, sampleBytes } = options;
  const hash = createHash('sha256');
  const headCap = sampleBytes === null ? 0 : sampleBytes + SAMPLE_LOOKAHEAD_BYTES;
  const head: Buffer[] = [];
  let headLength = 0;
  let bytes = 0;
  const send = async (out: Buffer): Promise<void> => {
    if (out.length === 0) return;
    bytes += out.length;
    hash.update(out);
    if (headLength < headCap) {
      const take = out.subarray(0, headCap - headLength);
      head.push(take);
      headLength += take.length;
    }
    await options.write(out);
  };
  const events = options.sse ? new EventBoundaries() : undefined;
  for await (const chunk of options.body) {
    if (!events) {
      await send(filter.push(chunk));
      continue;
    }
    for (const segment of events.split(chunk)) {
      await send(filter.push(segment.bytes));
      if (segment.boundary) await send(filter.flush());
    }
  }
  await send(filter.end());
  return {
    bytes,
    sha256: hash.digest('hex'),
    sample: sampleBytes === null ? null : bodySample(Buffer.concat(head, headLength), sampleBytes),
    sampleTruncated: sampleBytes !== null && bytes > sampleBytes,
    masking: filter.counts(),
  };
}
