import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { GatewayError } from '@agentgate/errors';
import { startAdminHttp } from './admin-http.js';
import type { CheckpointResult } from './app.js';

const result: CheckpointResult = {
  seq: 3,
  hash: 'ab'.repeat(32),
  coveredUntilUs: 42,
  heads: [{ sessionId: 's', seq: 1, hash: 'h', events: 2 }],
};

async function withServer(checkpoint: () => Promise<CheckpointResult>, run: (base: string) => Promise<void>): Promise<void> {
  const admin = await startAdminHttp({
    port: 0,
    readiness: () => ({ rebuilt: true, producerConnected: false }),
    metrics: () => 'agentgate_checkpoints_signed_total 3\n',
    checkpoint,
    logger: pino({ level: 'silent' }),
  });
  try {
    await run(`http://127.0.0.1:${admin.port}`);
  } finally {
    await admin.close();
  }
}

test('POST /checkpoint answers with the signed checkpoint; GET is refused', async () => {
  let calls = 0;
  await withServer(
    async () => {
      calls++;
      return result;
    },
    async (base) => {
      const res = await fetch(`${base}/checkpoint`, { method: 'POST' });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), result);
      assert.equal((await fetch(`${base}/checkpoint`)).status, 405);
      assert.equal(calls, 1);
    },
  );
});

test('a checkpoint that could not be signed is a 503 with its code', async () => {
  await withServer(
    () => Promise.reject(new GatewayError('AG_ERR_AUDIT_UNAVAILABLE')),
    async (base) => {
      const res = await fetch(`${base}/checkpoint`, { method: 'POST' });
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { code: string }).code, 'AG_ERR_AUDIT_UNAVAILABLE');
    },
  );
});

test('probes and metrics', async () => {
  await withServer(
    async () => result,
    async (base) => {
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const ready = await fetch(`${base}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(await ready.json(), { ready: false, checks: { rebuilt: true, producerConnected: false } });
      assert.match(await (await fetch(`${base}/metrics`)).text(), /agentgate_checkpoints_signed_total 3/);
      assert.equal((await fetch(`${base}/nope`)).status, 404);
    },
  );
});
