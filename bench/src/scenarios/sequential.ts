// The loop of the round-trip scenarios: one operation in flight at a time, so each sample is one
// round trip and never time spent queued behind another.

/** Runs `once` warmup + n times in sequence; returns the last n durations in milliseconds. */
export async function timeSequential(n: number, warmup: number, once: () => Promise<void>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < warmup + n; i++) {
    const t = performance.now();
    await once();
    // The first ones warm TLS sessions, JIT and the gateway's caches (token, policy, connection).
    if (i >= warmup) ms.push(performance.now() - t);
  }
  return ms;
}
