import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '@agentgate/errors';
import { startAdminServer } from './admin-server.js';

async function withServer(action: () => Promise<unknown>, run: (base: string, failures: string[]) => Promise<void>): Promise<void> {
  const failures: string[] = [];
  const admin = await startAdminServer({
    port: 0,
    readiness: () => ({ rebuilt: true, producerConnected: false }),
    metrics: () => 'agentgate_checkpoints_signed_total 3\n',
    actions: { checkpoint: action },
    onActionError: (name, code) => failures.push(`${name}:${code}`),
  });
  try {
    await run(`http://127.0.0.1:${admin.port}`, failures);
  } finally {
    await admin.close();
  }
}

test('POST /<action> answers with its result; another method is refused and runs nothing', async () => {
  let calls = 0;
  await withServer(
    async () => {
      calls++;
      return { seq: 3 };
    },
    async (base) => {
      const res = await fetch(`${base}/checkpoint`, { method: 'POST' });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { seq: 3 });
      const get = await fetch(`${base}/checkpoint`);
      assert.equal(get.status, 405);
      assert.equal(get.headers.get('allow'), 'POST');
      assert.equal(calls, 1);
    },
  );
});

test('an action that fails is a problem with its code: 503 when retriable, 500 otherwise; the code is reported', async () => {
  await withServer(
    () => Promise.reject(new GatewayError('AG_ERR_AUDIT_UNAVAILABLE')),
    async (base, failures) => {
      const res = await fetch(`${base}/checkpoint`, { method: 'POST' });
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { code: string }).code, 'AG_ERR_AUDIT_UNAVAILABLE');
      assert.deepEqual(failures, ['checkpoint:AG_ERR_AUDIT_UNAVAILABLE']);
    },
  );
  await withServer(
    () => Promise.reject(new Error('a detail that stays out of the answer')),
    async (base) => {
      const res = await fetch(`${base}/checkpoint`, { method: 'POST' });
      assert.equal(res.status, 500);
      assert.ok(!(await res.text()).includes('a detail'));
    },
  );
});

test('probes, metrics, and 404 for anything else', async () => {
  await withServer(
    async () => ({}),
    async (base) => {
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const ready = await fetch(`${base}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(await ready.json(), { ready: false, checks: { rebuilt: true, producerConnected: false } });
      assert.match(await (await fetch(`${base}/metrics`)).text(), /agentgate_checkpoints_signed_total 3/);
      assert.equal((await fetch(`${base}/nope`, { method: 'POST' })).status, 404);
    },
  );
});
