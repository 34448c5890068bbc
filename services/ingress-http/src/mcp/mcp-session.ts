// One agent's MCP session through the gateway: the agent speaks Streamable HTTP to an SDK
// Server here; the gateway speaks to the connection's server as an SDK Client (a process of
// its own over stdio, or Streamable HTTP). Every call (tools/call, resources/read, prompts/get,
// the lists) and every request the server makes of the agent (sampling, elicitation) is a
// recorded request, decided before it is forwarded; its result is masked by the verdict's
// plan, recorded, and only then released. The session is one audit session.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ErrorCode, toGatewayError } from '@agentgate/errors';
import type { Actor, McpRequest, ResponseObserved, VerdictIssued } from '@agentgate/events';
import type { MaskingPlans } from '@agentgate/ingress-core';
import type { CompiledPlan } from '@agentgate/masking';
import { type McpConnection, toolFingerprint } from '@agentgate/mcp';
import type { Logger } from '@agentgate/observability';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  CallToolResultSchema,
  type ClientCapabilities,
  CreateMessageRequestSchema,
  CreateMessageResultSchema,
  ElicitRequestSchema,
  ElicitResultSchema,
  GetPromptRequestSchema,
  GetPromptResultSchema,
  ListPromptsRequestSchema,
  ListPromptsResultSchema,
  ListResourcesRequestSchema,
  ListResourcesResultSchema,
  ListResourceTemplatesRequestSchema,
  ListResourceTemplatesResultSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  ReadResourceResultSchema,
  type ServerCapabilities,
  type Tool,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { ExchangeAudit } from '../exchange-audit.js';
import { GatewayMcpRefusal, gatewayMcpError } from './mcp-errors.js';
import { maskJsonStrings } from './json-masking.js';
import { mcpDetail, mcpResponse, mcpSessionOpened, recordedArguments } from './mcp-records.js';

export interface McpSessionConfig {
  instanceId: string;
  /** How much of arguments and results (as JSON text) the audit log keeps. */
  auditBodyBytes: number;
  /** Longest wait for the server's answer to one forwarded request. */
  callTimeoutMs: number;
  approvalsUrl: string;
}

export interface McpSessionDeps {
  config: McpSessionConfig;
  connection: McpConnection;
  actor: Actor;
  sessionId: string;
  audit: ExchangeAudit;
  maskingPlans: MaskingPlans;
  /** A client for the connection's server, not yet connected, and its transport. */
  openUpstream(): { client: Client; connect(): Promise<void> };
  logger: Logger;
  newId: () => string;
  /** Told once, when the session has ended. */
  onClosed(sessionId: string): void;
}

type Extra = {
  signal: AbortSignal;
  sendNotification: (n: { method: 'notifications/progress'; params: Record<string, unknown> }) => Promise<void>;
};

const LIST_CACHE_MS = 30_000;
/** Pages of tools/list the gateway reads at most: a server that pages forever is refused, not waited on. */
const MAX_TOOL_PAGES = 100;

export class McpGatewaySession {
  readonly sessionId: string;
  private readonly log: Logger;
  private transport: StreamableHTTPServerTransport | undefined;
  private client: Client | undefined;
  private serverLabel: string | null = null;
  private tools: { at: number; list: Tool[] } | undefined;
  private requestCount = 0;
  private readonly started = Date.now();
  private closing: Promise<void> | undefined;
  /** Set once the initialize was answered and the session named: an agent holds it. */
  private opened = false;
  lastActivity = Date.now();
  private postsOpen = 0;

  constructor(private readonly deps: McpSessionDeps) {
    this.sessionId = deps.sessionId;
    this.log = deps.logger.child({ sessionId: deps.sessionId, connection: deps.connection.name, protocol: 'mcp' });
  }

  get actor(): Actor {
    return this.deps.actor;
  }

  get connectionName(): string {
    return this.deps.connection.name;
  }

  /**
   * Opens the session on the agent's initialize request: recorded, the server reached, then the
   * initialize answered. Rejects with a GatewayError (nothing answered) when it cannot start;
   * resolves false when the transport answered the request itself without opening the session
   * (wrong Accept or Content-Type): the session has ended then.
   */
  async start(req: IncomingMessage, res: ServerResponse, initialize: { params?: { capabilities?: ClientCapabilities } }): Promise<boolean> {
    const { deps } = this;
    const userAgent = req.headers['user-agent'];
    await deps.audit.open(
      mcpSessionOpened(
        deps.connection,
        { address: req.socket.remoteAddress ?? '', port: req.socket.remotePort ?? 0, userAgent },
        deps.config.instanceId,
      ),
    );
    const agentCaps = initialize.params?.capabilities ?? {};
    // The server is offered what libs/mcp offers every server (GATEWAY_CLIENT_CAPABILITIES),
    // not what this agent offers: see registerServerRequests.
    const upstream = deps.openUpstream();
    this.client = upstream.client;
    try {
      await upstream.connect();
    } catch (err) {
      await this.end('upstream-closed', 'AG_ERR_UPSTREAM_UNAVAILABLE');
      throw toGatewayError(err, 'AG_ERR_UPSTREAM_UNAVAILABLE');
    }
    const client = upstream.client;
    const version = client.getServerVersion();
    this.serverLabel = version ? `${version.name} ${version.version}` : null;
    client.onclose = () => void this.end('upstream-closed', null);
    const caps = client.getServerCapabilities() ?? {};
    const offered: ServerCapabilities = {
      ...(caps.tools ? { tools: { listChanged: true } } : {}),
      ...(caps.resources ? { resources: {} } : {}),
      ...(caps.prompts ? { prompts: {} } : {}),
    };
    const server = new Server(
      { name: `${version?.name ?? deps.connection.name} via agentgate`, version: version?.version ?? '0' },
      { capabilities: offered, ...(client.getInstructions() ? { instructions: client.getInstructions() } : {}) },
    );
    this.registerAgentHandlers(server, offered);
    this.registerServerRequests(client, agentCaps, server);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => this.sessionId });
    transport.onclose = () => void this.end('client-terminate', null);
    this.transport = transport;
    await server.connect(transport);
    await transport.handleRequest(req, res, initialize);
    // The transport names the session only once it initialized; otherwise it has answered an
    // error the agent cannot follow up on, and the server process would idle until the reaper.
    if (transport.sessionId !== undefined) {
      this.opened = true;
      return true;
    }
    await this.end('error', 'AG_ERR_BAD_REQUEST');
    return false;
  }

  /** Open (its initialize answered) and not ending: a session an agent holds, which a cap may take. */
  get held(): boolean {
    return this.opened && this.closing === undefined;
  }

  /** Still counts toward its identity's cap: not ending (starting, or open). */
  get live(): boolean {
    return this.closing === undefined;
  }

  /** A later HTTP request of this session (POST, GET stream, DELETE). */
  async handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    this.lastActivity = Date.now();
    if (!this.transport) throw new Error('session not started');
    if (req.method === 'POST') {
      // A POST's answer (a call, a held approval) may take longer than the idle limit: the
      // session is busy, not idle, until the answer is out.
      this.postsOpen++;
      res.once('close', () => {
        this.postsOpen--;
        this.lastActivity = Date.now();
      });
    }
    await this.transport.handleRequest(req, res, body);
  }

  /** How long the session has had nothing to do: 0 while an agent's request is being answered. */
  idleMs(now: number): number {
    return this.postsOpen > 0 ? 0 : now - this.lastActivity;
  }

  /** Ends the session (idempotent): the server's process or connection closed, the chain closed. */
  end(reason: string, errorCode: ErrorCode | null): Promise<void> {
    this.closing ??= (async () => {
      const { client, transport } = this;
      this.client = undefined;
      this.transport = undefined;
      if (client) client.onclose = undefined;
      if (transport) transport.onclose = undefined;
      await Promise.allSettled([client?.close(), transport?.close()]);
      await this.deps.audit
        .close({ reason, errorCode, durationUs: (Date.now() - this.started) * 1000, requestCount: this.requestCount })
        .catch((err: unknown) => this.log.warn({ code: toGatewayError(err).code }, 'session close not recorded'));
      this.deps.onClosed(this.sessionId);
    })();
    return this.closing;
  }

  private upstreamClient(): Client {
    if (!this.client) throw gatewayMcpError('AG_ERR_UPSTREAM_CLOSED', 'the MCP server of this session has gone away');
    return this.client;
  }

  /**
   * The server's tools now (every page), cached briefly; a list_changed notice drops the cache.
   * The gateway's own request: a failure reaches the agent as a code, never as the server's
   * text, which nothing masked or recorded.
   */
  private async upstreamTools(signal: AbortSignal): Promise<Tool[]> {
    if (this.tools && Date.now() - this.tools.at < LIST_CACHE_MS) return this.tools.list;
    const client = this.upstreamClient();
    const list: Tool[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages === 0 || cursor !== undefined; pages++) {
      if (pages === MAX_TOOL_PAGES || list.length >= 10_000)
        throw gatewayMcpError('AG_ERR_PROTOCOL_VIOLATION', `the MCP server lists its tools in more than ${MAX_TOOL_PAGES} pages`);
      let page: { tools: Tool[]; nextCursor?: string | undefined };
      try {
        page = await client.listTools(cursor === undefined ? {} : { cursor }, {
          signal: gatewaySignal(signal),
          timeout: this.deps.config.callTimeoutMs,
        });
      } catch (err) {
        const code = err instanceof McpError ? `JSONRPC_${err.code}` : 'AG_ERR_UPSTREAM_UNAVAILABLE';
        this.log.warn({ code }, 'the MCP server did not list its tools');
        throw gatewayMcpError('AG_ERR_UPSTREAM_UNAVAILABLE', 'the MCP server did not list its tools; nothing was forwarded');
      }
      list.push(...page.tools);
      cursor = page.nextCursor;
    }
    this.tools = { at: Date.now(), list };
    return list;
  }

  /**
   * Records the request and waits for its verdict; resolves with the allowing verdict, throws
   * the JSON-RPC error the agent gets otherwise (the refusal recorded as its response).
   */
  private async decide(detail: McpRequest): Promise<{ requestId: string; verdict: VerdictIssued; startedAt: number }> {
    const requestId = this.deps.newId();
    const startedAt = Date.now();
    this.requestCount++;
    let verdict: VerdictIssued;
    try {
      verdict = await this.deps.audit.decide({ requestId, protocol: 'mcp', connection: this.deps.connection.name, detail });
    } catch (err) {
      const e = toGatewayError(err);
      this.log.warn({ code: e.code }, 'request not decided; nothing forwarded');
      throw gatewayMcpError(e.code, `${e.message}; nothing was forwarded`, { sessionId: this.sessionId, requestId });
    }
    if (verdict.decision === 'allow') return { requestId, verdict, startedAt };
    const pending = verdict.decision === 'pending_approval';
    const code = (pending ? 'AG_ERR_APPROVAL_PENDING' : (verdict.errorCode ?? 'AG_ERR_POLICY_DENIED')) as ErrorCode;
    await this.respond(mcpResponse(requestId, 'denied', { durationUs: 0, sampleBytes: 0, errorCode: code }));
    const approval =
      pending && verdict.approvalId !== null
        ? { approvalId: verdict.approvalId, approvalUrl: `${this.deps.config.approvalsUrl}/v1/approvals/${verdict.approvalId}` }
        : {};
    throw gatewayMcpError(code, `${pending ? 'waits for approval' : 'refused by policy'}: ${verdict.reason}; nothing was forwarded`, {
      sessionId: this.sessionId,
      requestId,
      rule: verdict.ruleId,
      policyVersion: verdict.policyVersion,
      ...approval,
    });
  }

  private async respond(payload: ResponseObserved): Promise<boolean> {
    try {
      await this.deps.audit.respond(payload);
      return true;
    } catch (err) {
      this.log.warn({ code: toGatewayError(err).code }, 'response not recorded');
      return false;
    }
  }

  /**
   * Forwards an allowed request and releases its result: masked by the verdict's plan,
   * recorded, then returned. A result that could not be recorded is never released.
   */
  private async forward<T>(
    decided: { requestId: string; verdict: VerdictIssued; startedAt: number },
    call: (options: RequestOptions) => Promise<T>,
    extra: Extra,
    agentProgressToken: string | number | undefined,
  ): Promise<T> {
    const { requestId, verdict, startedAt } = decided;
    const durationUs = (): number => (Date.now() - startedAt) * 1000;
    const sampleBytes = this.deps.config.auditBodyBytes;
    let plan: CompiledPlan | undefined;
    try {
      plan = this.deps.maskingPlans.forVerdict(verdict.maskingPlan);
    } catch (err) {
      const e = toGatewayError(err);
      await this.respond(mcpResponse(requestId, 'failed', { durationUs: durationUs(), sampleBytes, errorCode: e.code }));
      throw gatewayMcpError(e.code, `${e.message}; nothing was forwarded`, { requestId });
    }
    const options: RequestOptions = {
      signal: gatewaySignal(extra.signal),
      timeout: this.deps.config.callTimeoutMs,
      ...(agentProgressToken === undefined
        ? {}
        : {
            resetTimeoutOnProgress: true,
            // Only the numbers: a progress message is the server's free text, which nothing
            // masks or records, so relaying it would release unmasked content.
            onprogress: (p) => {
              const params = {
                progressToken: agentProgressToken,
                progress: p.progress,
                ...(p.total === undefined ? {} : { total: p.total }),
              };
              void extra.sendNotification({ method: 'notifications/progress', params }).catch(() => {});
            },
          }),
    };
    let result: T;
    try {
      result = await call(options);
    } catch (err) {
      if (err instanceof GatewayMcpRefusal) {
        await this.respond(
          mcpResponse(requestId, 'failed', { durationUs: durationUs(), sampleBytes, errorCode: String(err.data['code']) }),
        );
        throw err;
      }
      const cancelled = extra.signal.aborted;
      const upstreamError = err instanceof McpError ? err : undefined;
      const message = plan && upstreamError ? (plan.maskText(upstreamError.message).text ?? '') : upstreamError?.message;
      await this.respond(
        mcpResponse(requestId, cancelled ? 'cancelled' : upstreamError ? 'error' : 'failed', {
          durationUs: durationUs(),
          sampleBytes,
          errorCode: upstreamError ? `JSONRPC_${upstreamError.code}` : 'AG_ERR_UPSTREAM_CLOSED',
          errorMessage: message ?? null,
        }),
      );
      // The server's own error, relayed with its code (its message masked like a result).
      if (upstreamError) throw new GatewayMcpRefusal(upstreamError.code, unprefixed(message ?? ''), { upstream: true });
      throw gatewayMcpError('AG_ERR_UPSTREAM_CLOSED', 'the MCP server did not answer', { requestId });
    }
    const masked = plan ? maskJsonStrings(result, plan) : { value: result as unknown, counts: {}, unreadable: [] };
    if (masked.unreadable.length > 0) {
      await this.respond(
        mcpResponse(requestId, 'failed', { durationUs: durationUs(), sampleBytes, errorCode: 'AG_ERR_MASKING_UNSUPPORTED' }),
      );
      throw gatewayMcpError(
        'AG_ERR_MASKING_UNSUPPORTED',
        `the result holds binary content (${masked.unreadable.slice(0, 3).join(', ')}) that policy masks and the gateway cannot read`,
        { requestId },
      );
    }
    const isError = typeof masked.value === 'object' && masked.value !== null && (masked.value as { isError?: unknown }).isError === true;
    const recorded = await this.respond(
      mcpResponse(requestId, isError ? 'error' : 'ok', {
        durationUs: durationUs(),
        result: masked.value,
        sampleBytes,
        masking: masked.counts,
      }),
    );
    if (!recorded)
      throw gatewayMcpError('AG_ERR_AUDIT_UNAVAILABLE', 'the result could not be recorded, so it is not released', { requestId });
    return masked.value as T;
  }

  /**
   * What a server asks of the agent, through the verdict's plan: the agent (its model, its user)
   * sees a server's messages masked like any result. Binary content under a plan is refused.
   */
  private maskedForAgent<P>(params: P, verdict: VerdictIssued): P {
    const plan = this.deps.maskingPlans.forVerdict(verdict.maskingPlan);
    if (!plan) return params;
    const masked = maskJsonStrings(params, plan);
    if (masked.unreadable.length > 0)
      throw gatewayMcpError('AG_ERR_MASKING_UNSUPPORTED', 'the server asked with content that policy masks and the gateway cannot read');
    return masked.value as P;
  }

  private registerAgentHandlers(server: Server, offered: ServerCapabilities): void {
    const progressToken = (params: { _meta?: { progressToken?: string | number } } | undefined): string | number | undefined =>
      params?._meta?.progressToken;
    // Forwarded params drop the agent's _meta: its progress token is the gateway's to relay.
    const withoutMeta = <P extends { _meta?: unknown }>(params: P): Omit<P, '_meta'> => {
      const { _meta: _drop, ...rest } = params;
      return rest;
    };
    if (offered.tools) {
      server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => {
        const tools = await this.upstreamTools(extra.signal);
        const decided = await this.decide(
          mcpDetail({
            method: 'tools/list',
            tools: tools.map((t) => ({ name: t.name, fingerprint: toolFingerprint(t) })),
            server: this.serverLabel,
          }),
        );
        const visible = new Set(decided.verdict.visibleTools);
        return this.forward(decided, async () => ({ tools: tools.filter((t) => visible.has(t.name)) }), extra, undefined);
      });
      server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
        const { name } = request.params;
        const tools = await this.upstreamTools(extra.signal);
        const decided = await this.decide(
          mcpDetail({
            method: 'tools/call',
            name,
            toolFingerprint: calledToolFingerprint(tools, name),
            ...recordedArguments(request.params.arguments, this.deps.config.auditBodyBytes),
            server: this.serverLabel,
          }),
        );
        return this.forward(
          decided,
          (options) =>
            this.upstreamClient().request({ method: 'tools/call', params: withoutMeta(request.params) }, CallToolResultSchema, options),
          extra,
          progressToken(request.params),
        );
      });
    }
    if (offered.resources) {
      server.setRequestHandler(ListResourcesRequestSchema, async (request, extra) => {
        const decided = await this.decide(mcpDetail({ method: 'resources/list', server: this.serverLabel }));
        const params = request.params === undefined ? {} : withoutMeta(request.params);
        return this.forward(
          decided,
          (o) => this.upstreamClient().request({ method: 'resources/list', params }, ListResourcesResultSchema, o),
          extra,
          undefined,
        );
      });
      server.setRequestHandler(ListResourceTemplatesRequestSchema, async (request, extra) => {
        const decided = await this.decide(mcpDetail({ method: 'resources/templates/list', server: this.serverLabel }));
        const params = request.params === undefined ? {} : withoutMeta(request.params);
        return this.forward(
          decided,
          (o) => this.upstreamClient().request({ method: 'resources/templates/list', params }, ListResourceTemplatesResultSchema, o),
          extra,
          undefined,
        );
      });
      server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
        const decided = await this.decide(mcpDetail({ method: 'resources/read', uri: request.params.uri, server: this.serverLabel }));
        return this.forward(
          decided,
          (o) =>
            this.upstreamClient().request({ method: 'resources/read', params: withoutMeta(request.params) }, ReadResourceResultSchema, o),
          extra,
          progressToken(request.params),
        );
      });
    }
    if (offered.prompts) {
      server.setRequestHandler(ListPromptsRequestSchema, async (request, extra) => {
        const decided = await this.decide(mcpDetail({ method: 'prompts/list', server: this.serverLabel }));
        const params = request.params === undefined ? {} : withoutMeta(request.params);
        return this.forward(
          decided,
          (o) => this.upstreamClient().request({ method: 'prompts/list', params }, ListPromptsResultSchema, o),
          extra,
          undefined,
        );
      });
      server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => {
        const decided = await this.decide(
          mcpDetail({
            method: 'prompts/get',
            name: request.params.name,
            ...recordedArguments(request.params.arguments, this.deps.config.auditBodyBytes),
            server: this.serverLabel,
          }),
        );
        return this.forward(
          decided,
          (o) => this.upstreamClient().request({ method: 'prompts/get', params: withoutMeta(request.params) }, GetPromptResultSchema, o),
          extra,
          progressToken(request.params),
        );
      });
    }
  }

  /**
   * What the server asks of the agent: decided like any request, refused unless policy allows;
   * an allowed one the agent does not offer is refused too (recorded as failed).
   */
  private registerServerRequests(client: Client, agentCaps: ClientCapabilities, server: Server): void {
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      this.tools = undefined;
      await server.sendToolListChanged().catch(() => {});
    });
    const noProgress: Extra = { signal: new AbortController().signal, sendNotification: async () => {} };
    const offered =
      (what: 'sampling' | 'elicitation') =>
      async <T>(o: RequestOptions, ask: (o: RequestOptions) => Promise<T>): Promise<T> => {
        if (!agentCaps[what]) throw gatewayMcpError('AG_ERR_UNSUPPORTED', `the agent does not offer ${what}`);
        return ask(o);
      };
    client.setRequestHandler(CreateMessageRequestSchema, async (request, extra) => {
      const params = withoutMetaOf(request.params);
      const decided = await this.decide(
        mcpDetail({
          method: 'sampling/createMessage',
          ...recordedArguments(params, this.deps.config.auditBodyBytes),
          server: this.serverLabel,
        }),
      );
      return this.forward(
        decided,
        (o) =>
          offered('sampling')(o, (x) =>
            server.request(
              { method: 'sampling/createMessage', params: this.maskedForAgent(params, decided.verdict) },
              CreateMessageResultSchema,
              x,
            ),
          ),
        { ...noProgress, signal: extra.signal },
        undefined,
      );
    });
    client.setRequestHandler(ElicitRequestSchema, async (request, extra) => {
      const params = withoutMetaOf(request.params);
      const decided = await this.decide(
        mcpDetail({
          method: 'elicitation/create',
          ...recordedArguments(params, this.deps.config.auditBodyBytes),
          server: this.serverLabel,
        }),
      );
      return this.forward(
        decided,
        (o) =>
          offered('elicitation')(o, (x) =>
            server.request({ method: 'elicitation/create', params: this.maskedForAgent(params, decided.verdict) }, ElicitResultSchema, x),
          ),
        { ...noProgress, signal: extra.signal },
        undefined,
      );
    });
  }
}

/**
 * The fingerprint of the tool `name` as the server lists it now; null when it does not. A name
 * listed more than once, differently, gets a fingerprint of all its listings, which no pin
 * (one tool's fingerprint) equals: the server may run any of them.
 */
export function calledToolFingerprint(tools: readonly Tool[], name: string): string | null {
  const listed = [...new Set(tools.filter((t) => t.name === name).map((t) => toolFingerprint(t)))].sort();
  if (listed.length <= 1) return listed[0] ?? null;
  return `sha256:${createHash('sha256').update(listed.join('\n')).digest('hex')}`;
}

/**
 * A signal for a request the gateway sends on: aborted when `signal` is, with a reason of the
 * gateway's own. The SDK sends the abort reason on as the cancellation's `reason`, free text
 * of the other side that would otherwise cross undecided and unrecorded.
 */
export function gatewaySignal(signal: AbortSignal): AbortSignal {
  const controller = new AbortController();
  if (signal.aborted) controller.abort('cancelled');
  else signal.addEventListener('abort', () => controller.abort('cancelled'), { once: true });
  return controller.signal;
}

/** An McpError's message without the "MCP error <n>: " the SDK put in front. */
function unprefixed(message: string): string {
  return message.replace(/^MCP error -?\d+: /, '');
}

function withoutMetaOf<P extends { _meta?: unknown }>(params: P): Omit<P, '_meta'> {
  const { _meta: _drop, ...rest } = params;
  return rest;
}
