// The floor under every audited statement: the bare kafkajs loop the gateway's verdict path is
// made of. Side A produces a request (acks=all) to a scratch topic; side B consumes it and
// produces it back as a "verdict" to a second topic; side A consumes that verdict. One round
// trip at a time, for each fetch max-wait, on the stack's Kafka as its admin.
import { readFileSync } from 'node:fs';
import { createKafka } from '@agentgate/kafka';
import { type LatencyStats, summarize } from '../scenario-stats.js';
import { type BenchContext, secret, sleep } from './context.js';

export interface KafkaFloorResult {
  maxWaitMs: number;
  stats: LatencyStats;
}

export const FLOOR_TOPICS = { request: 'agentgate-bench-floor-request', verdict: 'agentgate-bench-floor-verdict' } as const;

export async function kafkaFloor(ctx: BenchContext, maxWaits: readonly number[] = [1, 100]): Promise<KafkaFloorResult[]> {
  // The default partitioner is what we want; kafkajs warns about its v2 change otherwise.
  process.env['KAFKAJS_NO_PARTITIONER_WARNING'] ??= '1';
  const kafka = createKafka({
    brokers: ctx.kafkaBrokers,
    clientId: `agentgate-bench-${ctx.runId}`,
    auth: { username: 'admin', password: secret(ctx, 'kafka-admin.password'), caPem: readFileSync(ctx.caFile, 'utf8') },
  });
  const admin = kafka.admin();
  await admin.connect();
  const existing = new Set(await admin.listTopics());
  const missing = Object.values(FLOOR_TOPICS).filter((t) => !existing.has(t));
  if (missing.length > 0) await admin.createTopics({ waitForLeaders: true, topics: missing.map((topic) => ({ topic, numPartitions: 1 })) });
  await admin.disconnect();

  const roundTrips = ctx.quick ? 200 : 1000;
  const out: KafkaFloorResult[] = [];
  for (const maxWaitMs of maxWaits) {
    const producerA = kafka.producer();
    const producerB = kafka.producer();
    const echo = kafka.consumer({ groupId: `agentgate-bench-echo-${ctx.runId}-${maxWaitMs}`, maxWaitTimeInMs: maxWaitMs });
    const side = kafka.consumer({ groupId: `agentgate-bench-floor-${ctx.runId}-${maxWaitMs}`, maxWaitTimeInMs: maxWaitMs });
    const waiting = new Map<string, () => void>();
    try {
      await Promise.all([producerA.connect(), producerB.connect(), echo.connect(), side.connect()]);
      await echo.subscribe({ topic: FLOOR_TOPICS.request, fromBeginning: false });
      await side.subscribe({ topic: FLOOR_TOPICS.verdict, fromBeginning: false });
      await echo.run({
        eachMessage: async ({ message }) => {
          await producerB.send({ topic: FLOOR_TOPICS.verdict, acks: -1, messages: [{ key: message.key, value: message.value }] });
        },
      });
      await side.run({
        eachMessage: async ({ message }) => {
          waiting.get(message.key?.toString() ?? '')?.();
        },
      });
      const roundTrip = async (key: string, timeoutMs: number): Promise<number | undefined> => {
        const t = performance.now();
        const answered = new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), timeoutMs);
          waiting.set(key, () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
        await producerA.send({ topic: FLOOR_TOPICS.request, acks: -1, messages: [{ key, value: `request ${key}` }] });
        const ok = await answered;
        waiting.delete(key);
        return ok ? performance.now() - t : undefined;
      };
      // Both groups start at the latest offset once joined: a warm-up round trip that comes back proves it.
      let warm = false;
      for (let i = 0; i < 30 && !warm; i++) warm = (await roundTrip(`${ctx.runId}-warm-${i}`, 2000)) !== undefined;
      if (!warm) throw new Error('the echo loop never answered (consumer groups did not join?)');
      for (let i = 0; i < 20; i++) await roundTrip(`${ctx.runId}-w${maxWaitMs}-${i}`, 5000);
      const ms: number[] = [];
      let lost = 0;
      for (let i = 0; i < roundTrips; i++) {
        const r = await roundTrip(`${ctx.runId}-${maxWaitMs}-${i}`, 5000);
        if (r === undefined) lost++;
        else ms.push(r);
      }
      if (lost > 0) ctx.log(`kafka floor, max-wait ${maxWaitMs} ms: ${lost} round trips lost`);
      out.push({ maxWaitMs, stats: summarize(ms) });
      ctx.log(`kafka floor, max-wait ${maxWaitMs} ms: p50 ${summarize(ms).p50.toFixed(2)} ms over ${ms.length}`);
    } finally {
      await Promise.allSettled([echo.disconnect(), side.disconnect(), producerA.disconnect(), producerB.disconnect()]);
      await sleep(100);
    }
  }
  return out;
}
