// `agentgate approvals list|show|approve|deny`: an approver's side of just-in-time approvals,
// through the approval service's REST API. The service authenticates the token and decides
// who may approve; the CLI only carries the token and prints the answer.
import { GatewayError } from '@agentgate/errors';
import { createApprovalsClient, type ApiResult, type ApprovalsClient, type Verdict } from './approvals-client.js';
import { formatDecided, formatList, formatProblem, formatView, problemExitCode } from './approvals-format.js';
import { callerToken } from './caller.js';
import type { CliConfig } from './config.js';
import { EXIT } from './exit-codes.js';
import { printJson, type CliIo } from './output.js';

export interface ApprovalsCommon {
  /** --url; else AGENTGATE_APPROVALS_URL; else the local stack's. */
  url?: string | undefined;
  tokenFile?: string | undefined;
  json: boolean;
  /** The clock for "in 14 min"; injected by tests. */
  nowMs?: () => number;
}

export type ApprovalsRequest =
  | { action: 'list'; all: boolean }
  | { action: 'show'; id: string }
  | { action: 'approve' | 'deny'; id: string; comment?: string | undefined };

/** The client for this invocation; refuses before any request when there is no token. */
export async function approvalsClient(config: Readonly<CliConfig>, options: ApprovalsCommon): Promise<ApprovalsClient> {
  const token = await callerToken(config, options.tokenFile);
  if (token === null) {
    throw new GatewayError(
      'AG_ERR_AUTH_REQUIRED',
      'approvals needs your access token in AGENTGATE_TOKEN (or --token-file); the approval service decides what you may see and decide',
    );
  }
  return createApprovalsClient({ baseUrl: (options.url ?? config.approvalsUrl).replace(/\/+$/, ''), token });
}

async function send(client: ApprovalsClient, request: ApprovalsRequest): Promise<ApiResult<unknown>> {
  switch (request.action) {
    case 'list':
      return client.list(request.all ? 'all' : 'pending');
    case 'show':
      return client.get(request.id);
    case 'approve':
    case 'deny':
      return client.decide(request.id, request.action satisfies Verdict, request.comment);
    default: {
      const never: never = request;
      throw new GatewayError('AG_ERR_INTERNAL', `unknown approvals action ${JSON.stringify(never)}`);
    }
  }
}

/** Runs one approvals subcommand; returns its exit code. */
export async function approvals(
  config: Readonly<CliConfig>,
  request: ApprovalsRequest,
  options: ApprovalsCommon,
  io: CliIo,
): Promise<number> {
  const client = await approvalsClient(config, options);
  const result = await send(client, request);
  if (!result.ok) {
    io.err(formatProblem(`approvals ${request.action}`, result.problem));
    return problemExitCode(result.problem);
  }
  const value = result.value;
  if (options.json) {
    printJson(io, value);
    return EXIT.ok;
  }
  const now = (options.nowMs ?? Date.now)();
  switch (request.action) {
    case 'list': {
      const items = Array.isArray(value) ? value : [];
      if (items.length === 0) {
        io.err(request.all ? 'no approval requests\n' : 'no pending approval requests (--all lists decided and expired ones too)\n');
        return EXIT.ok;
      }
      io.out(formatList(items, now));
      return EXIT.ok;
    }
    case 'show':
      io.out(formatView(value, now));
      return EXIT.ok;
    case 'approve':
    case 'deny':
      io.out(formatDecided(request.action, request.id, value));
      io.out(`\n${formatView(value, now)}`);
      return EXIT.ok;
    default: {
      const never: never = request;
      throw new GatewayError('AG_ERR_INTERNAL', `unknown approvals action ${JSON.stringify(never)}`);
    }
  }
}
