// Where the ingress's time goes, as histograms by stage. With agentgate_audit_write_seconds
// (each event's write) and agentgate_verdict_wait_seconds (the verdict after its request was
// acknowledged) they account for the whole added latency.
//
// agentgate_http_stage_seconds, one HTTP exchange:
//   token            Authorization header in hand -> access token verified
//   body             the agent's request body read
//   request+verdict  SessionOpened and RequestObserved handed to the log (one write) -> authentic
//                    verdict in hand
//   upstream         request sent to the upstream -> its response headers
//   relay            response headers -> the last body byte written to the agent
//   response         ResponseObserved and SessionClosed handed to the log (one write) -> acknowledged
//   total            request headers in hand -> the answer completed (res.end)
//
// agentgate_mcp_stage_seconds, the MCP edge (the audit port timed from outside, audit-timing.ts):
//   session-opened, request+verdict, response, session-closed   as above, per operation
//   post             a POST of an open session in hand -> its response finished
import { LatencyHistogram } from '@agentgate/observability';

export type ExchangeStage = 'token' | 'body' | 'request+verdict' | 'upstream' | 'relay' | 'response' | 'total';

/** Receives one stage's duration in milliseconds. */
export type StageObserver<S extends string = ExchangeStage> = (stage: S, ms: number) => void;

export interface StageHistogram<S extends string> {
  observe: StageObserver<S>;
  render(): string;
}

function stageHistogram<S extends string>(name: string, help: string): StageHistogram<S> {
  const histogram = new LatencyHistogram(name, help, 'stage');
  return {
    observe: (stage, ms) => histogram.observe(stage, Math.max(0, ms) / 1000),
    render: () => histogram.render(),
  };
}

/** `agentgate_http_stage_seconds{stage}`. */
export const exchangeStages = (): StageHistogram<ExchangeStage> =>
  stageHistogram(
    'agentgate_http_stage_seconds',
    'Time of HTTP exchanges in the ingress by stage (token, body, request+verdict, upstream, relay, response, total).',
  );

export type McpStage = 'session-opened' | 'request+verdict' | 'response' | 'session-closed' | 'post';

/** `agentgate_mcp_stage_seconds{stage}`. */
export const mcpStages = (): StageHistogram<McpStage> =>
  stageHistogram(
    'agentgate_mcp_stage_seconds',
    'Time at the MCP edge by stage (audit operations: session-opened, request+verdict, response, session-closed; post: a session POST in hand -> answered).',
  );
