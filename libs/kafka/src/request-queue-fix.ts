// kafkajs 2.2.4 (its last release) keeps a 1 ms timer running on every broker connection that has
// answered a request. RequestQueue.checkPendingRequests always ends in scheduleCheckPendingRequests,
// which arms setTimeout for `throttledUntil - now`: negative when the broker does not throttle,
// so it fires after 1 ms and arms it again (tulios/kafkajs#1556, #1604, #1704; the fix proposed
// in #1667 is unreleased). Every connection wakes its process a thousand times a second, idle or
// not, on the cores the statements need. A pending request is still checked when an in-flight one
// completes or times out, and a throttle still gets its timer: only the timer with nothing to
// wait for is left out.
import { createRequire } from 'node:module';

interface RequestQueueShape {
  pending: unknown[];
  throttledUntil: number;
  scheduleCheckPendingRequests(): void;
}

const FIXED = Symbol.for('agentgate.kafkajs.request-queue-fixed');

/**
 * Patches kafkajs's RequestQueue in this process (once). Returns false, changing nothing, when
 * the installed kafkajs does not have the shape this fix was written for.
 */
export function fixKafkajsRequestQueue(): boolean {
  const require = createRequire(import.meta.url);
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueueShape & { [FIXED]?: true } };
  const proto = RequestQueue.prototype;
  if (proto[FIXED]) return true;
  const original = proto.scheduleCheckPendingRequests;
  if (typeof original !== 'function' || !/throttledUntil - Date\.now\(\)/.test(String(original))) return false;
  proto.scheduleCheckPendingRequests = function (this: RequestQueueShape): void {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    original.call(this);
  };
  proto[FIXED] = true;
  return true;
}
