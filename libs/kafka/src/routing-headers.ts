// Record headers that route a verdict to the ingress instance waiting for it, read before the
// record is decoded. The ingress stamps its instance on each event it writes; the processor
// copies it, with the request id, onto the verdict. They are hints only: a verdict is still
// obeyed only after it is decoded and checked (checkVerdict), so a wrong header can at worst
// make its verdict unseen, and the statement then fails closed at its deadline.
import type { IHeaders } from 'kafkajs';

/** The ingress instance that wrote a request, and that waits for its verdict. */
export const REPLY_TO_HEADER = 'agentgate-reply-to';
/** The request a verdict answers. */
export const REQUEST_ID_HEADER = 'agentgate-request-id';

/** A header's value as text; undefined when absent or repeated. */
export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  if (v === undefined || Array.isArray(v)) return undefined;
  return typeof v === 'string' ? v : v.toString('utf8');
}

export type VerdictRoute = 'decode' | 'other-instance' | 'not-waiting';

/** Whether this instance must decode a verdict record: only one it may be waiting for. */
export function routeVerdict(headers: IHeaders | undefined, instance: string, waitingFor: (requestId: string) => boolean): VerdictRoute {
  const replyTo = headerText(headers, REPLY_TO_HEADER);
  if (replyTo !== undefined && replyTo !== instance) return 'other-instance';
  const requestId = headerText(headers, REQUEST_ID_HEADER);
  if (requestId !== undefined && !waitingFor(requestId)) return 'not-waiting';
  return 'decode';
}
