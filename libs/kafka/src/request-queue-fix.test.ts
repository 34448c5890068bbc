import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { fixKafkajsRequestQueue } from './request-queue-fix.js';

const require = createRequire(import.meta.url);
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as new (
  options: object,
) => {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  canSendSocketRequestImmediately(): boolean;
};
const silent = { debug() {}, info() {}, warn() {}, error() {} };

function queue() {
  return new RequestQueue({
    instrumentationEmitter: { emit() {} },
    maxInFlightRequests: 1,
    requestTimeout: 1000,
    enforceRequestTimeout: true,
    clientId: 'test',
    broker: 'test:0',
    logger: silent,
    isConnected: () => true,
  });
}

test('with nothing pending and no throttle, checking the queue leaves no timer behind', () => {
  assert.equal(fixKafkajsRequestQueue(), true);
  const q = queue();
  // What a completed request runs (fulfillRequest): unpatched, this armed a 1 ms timer that re-arms itself.
  q.checkPendingRequests();
  assert.equal(q.throttleCheckTimeoutId, null);
});

test('a pending request and a throttle still get their timer', () => {
  fixKafkajsRequestQueue();
  const pending = queue();
  pending.canSendSocketRequestImmediately = () => false;
  pending.pending.push({ correlationId: 1 });
  pending.checkPendingRequests();
  assert.notEqual(pending.throttleCheckTimeoutId, null);
  clearTimeout(pending.throttleCheckTimeoutId!);

  const throttled = queue();
  throttled.throttledUntil = Date.now() + 60_000;
  throttled.checkPendingRequests();
  assert.notEqual(throttled.throttleCheckTimeoutId, null);
  clearTimeout(throttled.throttleCheckTimeoutId!);
});

test('patching twice changes nothing more', () => {
  assert.equal(fixKafkajsRequestQueue(), true);
  assert.equal(fixKafkajsRequestQueue(), true);
});
