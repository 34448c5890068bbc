import { test } from 'node:test';
import assert from 'node:assert/strict';
// pino itself, not @agentgate/observability's logger: its redaction would hide a leak this file must catch.
import { pino } from 'pino';
import { parseChannels, type ChannelSet } from './channels.js';
import { createNotifier, type Notifier, type NotifierDeps } from './notifier.js';
import type { ApprovalNotice } from './notice.js';
import { verifySignature } from './signature.js';

const SECRET = 'json-channel-secret-0123456789';
const SLACK_PATH = '/services/T0000/B0000/SlackPathSecretXYZ';
const NOW_MS = 1_764_000_000_000;
const NOTICE: ApprovalNotice = {
  approvalId: 'a-1',
  url: 'http://127.0.0.1:18080/approvals/a-1',
  requester: 'alice',
  actChain: ['dba-agent'],
  connection: 'demo',
  text: 'DELETE FROM customers WHERE note = StatementTextMarker',
  ruleId: 'r1',
  reason: 'DELETE needs approval',
  expiresAtUs: (NOW_MS + 900_000) * 1000,
  approverGroups: ['approvers'],
};

function channels(timeoutMs = 5000): ChannelSet {
  return parseChannels(
    {
      channels: {
        ops: { url: 'https://hooks.example.com/hooks/approvals-path', format: 'json', secretFile: 's', timeoutMs },
        slack: { url: `https://hooks.slack.com${SLACK_PATH}`, format: 'slack', timeoutMs },
      },
    },
    'test',
    { baseDir: '/x', readSecret: () => Buffer.from(SECRET) },
  );
}

type Step = number | { status: number; retryAfter?: string } | 'network' | 'hang';

interface Harness {
  notifier: Notifier;
  calls: { url: string; init: RequestInit }[];
  sleeps: number[];
  log: () => string;
}

/** A fetch that answers each call with the next step (the last repeats), sleeps that return at once, and pino into a buffer. */
function harness(steps: Step[], options: { timeoutMs?: number; random?: () => number } = {}): Harness {
  const calls: Harness['calls'] = [];
  const sleeps: number[] = [];
  let out = '';
  const sink = {
    write(s: string): void {
      out += s;
    },
  };
  const logger = pino({ level: 'debug' }, sink);
  const fetch = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    const step = steps[Math.min(calls.length - 1, steps.length - 1)]!;
    if (step === 'network') {
      // undici's shape: a TypeError whose cause carries the socket code and a message quoting the address.
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error(`connect ECONNREFUSED ${String(url)}`), { code: 'ECONNREFUSED' }),
      });
    }
    if (step === 'hang') {
      return new Promise<Response>((_, reject) => {
        init?.signal?.addEventListener('abort', () => reject(new DOMException('This operation was aborted', 'AbortError')));
      });
    }
    const { status, retryAfter } = typeof step === 'number' ? { status: step, retryAfter: undefined } : step;
    return new Response(status === 204 ? null : 'receiver says StatementTextMarker', {
      status,
      headers: retryAfter === undefined ? {} : { 'retry-after': retryAfter },
    });
  }) as typeof globalThis.fetch;
  const deps: NotifierDeps = {
    fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    logger,
    nowMs: () => NOW_MS,
    random: options.random ?? (() => 1),
  };
  return { notifier: createNotifier(channels(options.timeoutMs), deps), calls, sleeps, log: () => out };
}

function lines(log: string): Record<string, unknown>[] {
  return log
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('json channel: one signed POST the receiver can verify; 2xx is success', async () => {
  const h = harness([204]);
  h.notifier.notify(NOTICE, ['ops']);
  await h.notifier.idle();
  assert.equal(h.calls.length, 1);
  const { url, init } = h.calls[0]!;
  assert.equal(url, 'https://hooks.example.com/hooks/approvals-path');
  assert.equal(init.method, 'POST');
  const headers = init.headers as Record<string, string>;
  assert.equal(headers['content-type'], 'application/json');
  assert.equal(headers['X-Agentgate-Timestamp'], String(NOW_MS / 1000));
  const body = String(init.body);
  assert.equal(verifySignature(SECRET, headers['X-Agentgate-Timestamp']!, body, headers['X-Agentgate-Signature']!, NOW_MS / 1000), true);
  assert.equal((JSON.parse(body) as { type: string }).type, 'agentgate.approval.requested');
  const delivered = lines(h.log()).find((l) => l['msg'] === 'approval notification delivered');
  assert.equal(delivered?.['attempts'], 1);
});

test('slack channel without a secret is sent unsigned', async () => {
  const h = harness([200]);
  h.notifier.notify(NOTICE, ['slack']);
  await h.notifier.idle();
  const headers = h.calls[0]!.init.headers as Record<string, string>;
  assert.equal(headers['X-Agentgate-Signature'], undefined);
  assert.ok(Array.isArray((JSON.parse(String(h.calls[0]!.init.body)) as { blocks: unknown }).blocks));
});

test('notify returns before anything is sent and never throws', async () => {
  const h = harness([200]);
  assert.equal(h.notifier.notify(NOTICE, ['ops']), undefined);
  assert.equal(h.calls.length, 0, 'fetch is not called synchronously');
  await h.notifier.idle();
  assert.equal(h.calls.length, 1);
  const broken = createNotifier(channels(), {
    fetch: (() => {
      throw new Error('sync throw');
    }) as unknown as typeof fetch,
    sleep: async () => undefined,
    logger: pino({ level: 'silent' }),
    random: () => 0,
  });
  assert.doesNotThrow(() => broken.notify(NOTICE, ['ops']));
  await broken.idle();
});

test('5xx then 200: two attempts, one backoff of base * random', async () => {
  const h = harness([502, 200], { random: () => 0.5 });
  h.notifier.notify(NOTICE, ['ops']);
  await h.notifier.idle();
  assert.equal(h.calls.length, 2);
  assert.deepEqual(h.sleeps, [250]);
});

test('400 is final: one attempt, no wait, a warning', async () => {
  const h = harness([400, 200]);
  h.notifier.notify(NOTICE, ['ops']);
  await h.notifier.idle();
  assert.equal(h.calls.length, 1);
  assert.deepEqual(h.sleeps, []);
  const warn = lines(h.log()).find((l) => l['level'] === 40);
  assert.equal(warn?.['attempts'], 1);
  assert.equal(warn?.['status'], 400);
  assert.equal(warn?.['channel'], 'ops');
  assert.equal(warn?.['approvalId'], 'a-1');
});

test('always 5xx: 6 attempts with exponential full-jitter waits capped at 30 s, then gives up quietly', async () => {
  const h = harness([500], { random: () => 1 });
  h.notifier.notify(NOTICE, ['ops']);
  await h.notifier.idle();
  assert.equal(h.calls.length, 6);
  assert.deepEqual(h.sleeps, [500, 1000, 2000, 4000, 8000]);
  const warn = lines(h.log()).find((l) => l['level'] === 40);
  assert.equal(warn?.['attempts'], 6);
  assert.equal(warn?.['status'], 500);
  // Full jitter: a draw of 0 waits nothing.
  const zero = harness([500], { random: () => 0 });
  zero.notifier.notify(NOTICE, ['ops']);
  await zero.notifier.idle();
  assert.deepEqual(zero.sleeps, [0, 0, 0, 0, 0]);
});

test('network errors are retried and logged by code only', async () => {
  const h = harness(['network', 'network', 204], { random: () => 1 });
  h.notifier.notify(NOTICE, ['ops']);
  await h.notifier.idle();
  assert.equal(h.calls.length, 3);
  const retry = lines(h.log()).find((l) => l['level'] === 20);
  assert.equal(retry?.['err'], 'ECONNREFUSED');
});

test('Retry-After on 429 and 503 replaces the backoff, capped at 30 s; ignored on other statuses', async () => {
  const h = harness([{ status: 429, retryAfter: '7' }, { status: 503, retryAfter: '120' }, { status: 500, retryAfter: '9' }, 200], {
    random: () => 1,
  });
  h.notifier.notify(NOTICE, ['ops']);
  await h.notifier.idle();
  assert.equal(h.calls.length, 4);
  assert.deepEqual(h.sleeps, [7000, 30_000, 2000]);
  const date = harness([{ status: 503, retryAfter: new Date(NOW_MS + 4000).toUTCString() }, 200]);
  date.notifier.notify(NOTICE, ['ops']);
  await date.notifier.idle();
  assert.deepEqual(date.sleeps, [4000]);
});

test('a timeout aborts the attempt and counts as a failed one', async () => {
  const h = harness(['hang', 200], { timeoutMs: 20, random: () => 1 });
  h.notifier.notify(NOTICE, ['ops']);
  await h.notifier.idle();
  assert.equal(h.calls.length, 2);
  assert.equal(h.calls[0]!.init.signal?.aborted, true);
  const retry = lines(h.log()).find((l) => l['level'] === 20);
  assert.equal(retry?.['err'], 'TIMEOUT');
  const always = harness(['hang'], { timeoutMs: 10, random: () => 0 });
  always.notifier.notify(NOTICE, ['ops']);
  await always.notifier.idle();
  assert.equal(always.calls.length, 6);
});

test('unknown channels are logged and skipped; known ones still go; duplicates go once', async () => {
  const h = harness([200]);
  h.notifier.notify(NOTICE, ['nope', 'ops', 'ops']);
  await h.notifier.idle();
  assert.equal(h.calls.length, 1);
  const skipped = lines(h.log()).find((l) => l['msg'] === 'unknown notification channel; skipped');
  assert.equal(skipped?.['channel'], 'nope');
});

test('logs never hold a secret, a URL path, the statement or the body', async () => {
  const h = harness([500, 'network', 'network', 400], { random: () => 0 });
  h.notifier.notify(NOTICE, ['ops', 'slack']);
  const ok = harness([200]);
  ok.notifier.notify(NOTICE, ['ops', 'slack']);
  await Promise.all([h.notifier.idle(), ok.notifier.idle()]);
  const log = h.log() + ok.log();
  assert.ok(lines(log).length >= 6, 'something was logged');
  assert.match(log, /"origin":"https:\/\/hooks\.slack\.com"/);
  for (const secret of [SECRET, SLACK_PATH, 'SlackPathSecretXYZ', '/hooks/approvals-path', 'StatementTextMarker', 'DELETE FROM']) {
    assert.ok(!log.includes(secret), `log holds ${secret}:\n${log}`);
  }
});
