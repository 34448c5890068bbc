// The projector killed with SIGKILL three times while statements run through the gateway for a
// fixed time: ClickHouse must end with exactly one row per event the pipeline wrote to Kafka in
// that span, none lost, none twice. Counted against Kafka itself (each audit partition's offsets
// before and after), not against anything the projector says about itself. The run is timed, not
// counted, so that a slow machine does not stretch it: what it must hold is that every kill falls
// while statements still flow, which the test checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { quoteString, quoteUInt } from '@agentgate/clickhouse';
import { auditTopics, topicNames } from '@agentgate/events';
import { topicEnds, type TopicEnds } from '../support/kafka-range.js';
import { ROOT, clickhouse, eventually, kafkaAs, stack, stackCommand, token } from '../support/stack.js';

const SECONDS = Number(process.env['AG_KILL_TEST_SECONDS'] ?? 120);
const CLIENTS = 8;
const KILLS = 3;
const ADMIN_PORT = Number(process.env['AG_PROJECTOR_ADMIN_PORT'] ?? 15482);

function pgbench(seconds: number): Promise<{ code: number | null; out: string }> {
  const script = join(tmpdir(), `agentgate-kill-${process.pid}.sql`);
  writeFileSync(script, 'SELECT 1;\n');
  const conninfo = `host=${stack.ingressHost} port=${stack.ingressPort} dbname=scratch user=dba-agent sslmode=verify-full sslrootcert=${stack.caFile} application_name=e2e_projector_kill`;
  return new Promise((resolve, reject) => {
    const child = spawn('pgbench', ['-n', '-f', script, '-c', String(CLIENTS), '-j', '2', '-T', String(seconds), conninfo], {
      env: { ...process.env, PGPASSWORD: token('dba-agent') },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/**
 * SIGKILL, then wait until the process is gone (reaped, or a zombie: this machine's init does not
 * reap) and its admin port is closed (a dying process's other threads hold its sockets a moment longer).
 */
async function killProjector(): Promise<void> {
  const pid = Number(readFileSync(join(ROOT, '.stack/run/projector.pid'), 'utf8').trim());
  process.kill(pid, 'SIGKILL');
  await eventually(async () => {
    const stat = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim();
    const listening = spawnSync('ss', ['-Hltn', `sport = :${ADMIN_PORT}`], { encoding: 'utf8' }).stdout.trim();
    return (stat === '' || stat.startsWith('Z')) && listening === '' ? true : undefined;
  }, 15_000);
}

/** Messages per partition in [from, to). */
function spans(from: TopicEnds, to: TopicEnds): { topic: string; partition: number; from: bigint; to: bigint }[] {
  return Object.entries(to).flatMap(([topic, partitions]) =>
    Object.entries(partitions).map(([p, end]) => ({ topic, partition: Number(p), from: from[topic]?.[Number(p)] ?? 0n, to: end })),
  );
}

test(`kill -9 of the projector three times during ${SECONDS} s of statements: exactly one row per event`, {
  timeout: 20 * 60_000,
}, async (t) => {
  const kafka = new kafkajs.Kafka({ clientId: 'e2e-projector-kill', logLevel: kafkajs.logLevel.NOTHING, ...kafkaAs('admin') });
  const admin = kafka.admin();
  await admin.connect();
  const ch = clickhouse();
  try {
    const topics = auditTopics(topicNames());
    const before = await topicEnds(admin, topics);
    let finished = false;
    const run = pgbench(SECONDS).finally(() => {
      finished = true;
    });
    const started = performance.now();
    const killedAfterRows: number[] = [];
    const killedAtSeconds: number[] = [];
    for (let k = 0; k < KILLS; k += 1) {
      // Let the projector insert for a while, then kill it mid-stream and bring it back.
      await new Promise((r) => setTimeout(r, 8_000));
      const rows = Number(
        (await (await ch.query({ query: 'SELECT count() AS n FROM events', format: 'JSONEachRow' })).json<{ n: string }>())[0]?.n,
      );
      killedAfterRows.push(rows);
      killedAtSeconds.push(Math.round((performance.now() - started) / 1000));
      // A kill after the statements stopped would test a quiet restart, not a kill mid-stream.
      assert.equal(finished, false, `kill ${k + 1} would fall after the ${SECONDS} s of statements; raise AG_KILL_TEST_SECONDS`);
      await killProjector();
      stackCommand('start', 'projector');
    }
    const result = await run;
    assert.equal(result.code, 0, result.out);
    const statements = Number(/number of transactions actually processed: (\d+)/.exec(result.out)?.[1]);
    assert.ok(statements > 0, result.out);
    assert.match(result.out, /number of failed transactions: 0 /);
    const after = await topicEnds(admin, topics);
    const produced = spans(before, after);
    const expected = produced.reduce((n, s) => n + Number(s.to - s.from), 0);
    t.diagnostic(
      `${statements} statements, ${expected} events, kills at ${killedAtSeconds.join(', ')} s after ${killedAfterRows.join(', ')} rows`,
    );
    assert.ok(expected >= statements * 2, `the pipeline wrote ${expected} events for ${statements} statements`);
    const inSpan = produced
      .filter((s) => s.to > s.from)
      .map(
        (s) =>
          `(kafka_topic = ${quoteString(s.topic)} AND kafka_partition = ${quoteUInt(s.partition)} AND kafka_offset >= ${quoteUInt(Number(s.from))} AND kafka_offset < ${quoteUInt(Number(s.to))})`,
      )
      .join(' OR ');
    const counts = await eventually(
      async () => {
        const r = await ch.query({
          query: `SELECT count() AS rows, uniqExact(event_id) AS ids, uniqExact(kafka_topic, kafka_partition, kafka_offset) AS positions FROM events WHERE ${inSpan}`,
          format: 'JSONEachRow',
        });
        const [row] = await r.json<{ rows: string; ids: string; positions: string }>();
        const c = { rows: Number(row?.rows), ids: Number(row?.ids), positions: Number(row?.positions) };
        return c.rows >= expected ? c : undefined;
      },
      5 * 60_000,
      1_000,
    );
    assert.deepEqual(counts, { rows: expected, ids: expected, positions: expected }, `kills after ${killedAfterRows.join(', ')} rows`);
  } finally {
    await admin.disconnect();
    await ch.close();
  }
});
