// `agentgate mcp pins <connection...>`: starts (stdio) or reaches (Streamable HTTP) each named MCP
// connection's server the way the gateway does, lists its tools and prints their fingerprints as
// the `mcpPins` section of a policy file (mcp-pins-yaml.ts), for an administrator to review and
// commit. Declared apart from program.ts, which wires it in.
import type { EnvMap } from '@agentgate/config';
import { GatewayError, isGatewayError } from '@agentgate/errors';
import { type McpConnection, parseMcpCatalog, toolFingerprint, upstreamClient, upstreamTransport } from '@agentgate/mcp';
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { CliConfig } from './config.js';
import { reasonOf } from './backends.js';
import { EXIT, describeFailure } from './exit-codes.js';
import { pinsYaml, type ServerPins } from './mcp-pins-yaml.js';
import type { CliIo } from './output.js';
import { shellWord } from './ssh-commands.js';

export interface McpCommandContext {
  io: CliIo;
  configOf(): Readonly<CliConfig>;
  env: EnvMap;
  /** The checkout: where the local stack keeps .stack, and the directory a stdio server starts in. */
  repoRoot: string;
  /** The CLI's version, sent as the MCP client's. */
  version: string;
  setExit(code: number): void;
}

/** How long the server may take to start and answer each request. */
const REQUEST_TIMEOUT_MS = 30_000;
/** A server that keeps answering with a next cursor is not listing tools any more. */
const MAX_PAGES = 1000;
/** What a stdio server inherits from the environment besides its catalog entry's settings. */
const BASE_ENV = ['PATH', 'HOME', 'LANG', 'TZ'] as const;

/**
 * The environment ${VAR} in the catalog is expanded from: the CLI's, with AG_REPO_DIR,
 * AG_STACK_DIR and AG_SECRETS_DIR defaulting to what the local stack sets them to (the CLI has
 * no reader of .stack/run/stack.env; these three are all the catalog uses).
 */
export function catalogEnv(env: EnvMap, repoRoot: string): Record<string, string | undefined> {
  const stackDir = env['AG_STACK_DIR'] || join(repoRoot, '.stack');
  return {
    ...env,
    AG_REPO_DIR: env['AG_REPO_DIR'] || repoRoot,
    AG_STACK_DIR: stackDir,
    AG_SECRETS_DIR: env['AG_SECRETS_DIR'] || join(stackDir, 'secrets'),
  };
}

/**
 * Resolves env:NAME and file:/path for the server's secrets. Unlike the gateway's resolver (whose
 * message an agent may read) this names the reference: the administrator running it owns it.
 */
export function credentialResolver(env: EnvMap): (reference: string) => string {
  return (reference) => {
    const colon = reference.indexOf(':');
    const scheme = reference.slice(0, colon);
    const target = reference.slice(colon + 1);
    if (scheme === 'env') {
      const value = env[target];
      if (value === undefined || value === '')
        throw new GatewayError('AG_ERR_CREDENTIAL_UNAVAILABLE', `the credential ${reference} is not set in this environment`);
      return value;
    }
    if (scheme === 'file') {
      try {
        return readFileSync(target, 'utf8').replace(/\r?\n$/, '');
      } catch (cause) {
        throw new GatewayError('AG_ERR_CREDENTIAL_UNAVAILABLE', `cannot read the credential ${reference} (${reasonOf(cause)})`, { cause });
      }
    }
    throw new GatewayError('AG_ERR_CREDENTIAL_UNAVAILABLE', `the credential ${reference} is neither env:NAME nor file:/path`);
  };
}

/** The MCP connections of the catalog file, parsed as the gateway parses them. */
export function loadMcpConnections(file: string, env: Record<string, string | undefined>) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `cannot read the connections file ${file} (set AG_CONNECTIONS_FILE or --connections)`, {
      cause,
    });
  }
  let doc: { connections?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch (cause) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `connections file ${file} is not valid JSON`, { cause });
  }
  if (!Array.isArray(doc.connections))
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `connections file ${file} needs a "connections" array`);
  const entries = (doc.connections as unknown[]).map(
    (item) => (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>,
  );
  return parseMcpCatalog(entries, env);
}

/** Connects to the connection's server, lists every tool (all pages) and closes the client again. */
export async function serverPins(
  connection: McpConnection,
  options: {
    resolveCredential(reference: string): string;
    baseEnv: Record<string, string>;
    clientVersion: string;
    stderr?: 'ignore' | 'inherit';
  },
): Promise<ServerPins> {
  let transport: ReturnType<typeof upstreamTransport>;
  try {
    transport = upstreamTransport(connection, {
      resolveCredential: options.resolveCredential,
      baseEnv: options.baseEnv,
      stderr: options.stderr ?? 'ignore',
    });
  } catch (cause) {
    if (!isGatewayError(cause)) throw cause;
    throw new GatewayError(cause.code, `MCP connection ${connection.name}: ${cause.message}`, { cause });
  }
  const client = upstreamClient({ name: 'agentgate-cli', version: options.clientVersion });
  const where =
    connection.upstream.transport === 'stdio' ? `the server process ${shellWord(connection.upstream.command)}` : connection.upstream.url;
  try {
    try {
      await client.connect(transport, { timeout: REQUEST_TIMEOUT_MS });
    } catch (cause) {
      throw new GatewayError(
        'AG_ERR_UPSTREAM_UNAVAILABLE',
        `MCP connection ${connection.name}: ${where} did not start or answer (${reasonOf(cause)})`,
        {
          cause,
        },
      );
    }
    const tools: { name: string; fingerprint: string }[] = [];
    let cursor: string | undefined;
    for (let page = 0; ; page++) {
      if (page === MAX_PAGES)
        throw new GatewayError(
          'AG_ERR_PROTOCOL_VIOLATION',
          `MCP connection ${connection.name}: tools/list did not end after ${MAX_PAGES} pages`,
        );
      let result: Awaited<ReturnType<typeof client.listTools>>;
      try {
        result = await client.listTools(cursor === undefined ? {} : { cursor }, { timeout: REQUEST_TIMEOUT_MS });
      } catch (cause) {
        throw new GatewayError('AG_ERR_UPSTREAM_UNAVAILABLE', `MCP connection ${connection.name}: tools/list failed (${reasonOf(cause)})`, {
          cause,
        });
      }
      for (const t of result.tools) tools.push({ name: t.name, fingerprint: toolFingerprint(t) });
      cursor = result.nextCursor;
      if (cursor === undefined) break;
    }
    const info = client.getServerVersion();
    return { connection: connection.name, server: info === undefined ? null : { name: info.name, version: info.version }, tools };
  } finally {
    // Ends the stdio server process (or the HTTP session); a failure to do so changes no pin.
    await client.close().catch(() => {});
  }
}

/** The command line that made a pins file, for its header. */
export function pinsCommandLine(names: readonly string[], o: { connections?: string | undefined; write?: string | undefined }): string {
  return [
    'npx agentgate mcp pins',
    ...names.map(shellWord),
    ...(o.connections === undefined ? [] : ['--connections', shellWord(o.connections)]),
    ...(o.write === undefined ? [] : ['--write', shellWord(o.write)]),
  ].join(' ');
}

interface PinsOptions {
  connections?: string;
  write?: string;
  serverStderr?: boolean;
}

async function mcpPins(names: readonly string[], o: PinsOptions, ctx: McpCommandContext): Promise<number> {
  const file = o.connections ?? ctx.configOf().connectionsFile;
  const catalog = loadMcpConnections(file, catalogEnv(ctx.env, ctx.repoRoot));
  const wanted = [...new Set(names)];
  const unknown = wanted.filter((n) => catalog.get(n) === undefined);
  if (unknown.length > 0) {
    const known = catalog.names();
    throw new GatewayError(
      'AG_ERR_CONNECTION_UNKNOWN',
      `${unknown.join(', ')}: no MCP connection of that name in ${file} (MCP connections: ${known.length > 0 ? known.join(', ') : 'none'})`,
    );
  }
  // The server inherits what it inherits under the gateway (deploy/connections.json), never this
  // shell's secrets; LANG too, since a server may describe its tools in the user's language.
  const baseEnv: Record<string, string> = {};
  for (const k of BASE_ENV) if (ctx.env[k] !== undefined) baseEnv[k] = ctx.env[k] as string;
  const resolveCredential = credentialResolver(ctx.env);
  const servers: ServerPins[] = [];
  for (const name of wanted) {
    const connection = catalog.get(name) as McpConnection;
    // Relative paths in a stdio entry without cwd mean what they mean to the local stack's gateway,
    // which runs in the checkout, wherever this command was started.
    const u = connection.upstream;
    const started = u.transport === 'stdio' && u.cwd === null ? { ...connection, upstream: { ...u, cwd: ctx.repoRoot } } : connection;
    servers.push(
      await serverPins(started, {
        resolveCredential,
        baseEnv,
        clientVersion: ctx.version,
        stderr: o.serverStderr === true ? 'inherit' : 'ignore',
      }),
    );
  }
  const yaml = pinsYaml(servers, pinsCommandLine(names, o));
  if (o.write === undefined) {
    ctx.io.out(yaml);
    return EXIT.ok;
  }
  const target = isAbsolute(o.write) ? o.write : resolve(process.cwd(), o.write);
  // Written whole, then renamed: a policy compiled meanwhile never sees half the pins.
  const partial = `${target}.partial`;
  try {
    await writeFile(partial, yaml, 'utf8');
    await rename(partial, target);
  } catch (cause) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `cannot write ${target} (${reasonOf(cause)})`, { cause });
  }
  const summary = servers.map((s) => `${s.connection} (${s.tools.length} tools)`).join(', ');
  ctx.io.err(`wrote ${o.write}: ${summary}\nreview the diff before committing it: a changed fingerprint is a changed tool\n`);
  return EXIT.ok;
}

/** Prints a failure of `mcp pins`; returns its exit code (a connection name that is not in the catalog is usage). */
function reportFailure(error: unknown, io: CliIo): number {
  // The shared hint for an unreachable upstream is about the local stack; an MCP server is not part of it.
  if (isGatewayError(error, 'AG_ERR_UPSTREAM_UNAVAILABLE')) {
    io.err(`agentgate mcp pins: ${error.message} (${error.code})\n  for a stdio server, --server-stderr shows its own error output\n`);
    return EXIT.failure;
  }
  const { exitCode, text } = describeFailure('mcp pins', error);
  io.err(text);
  return isGatewayError(error, 'AG_ERR_CONNECTION_UNKNOWN') ? EXIT.usage : exitCode;
}

/** Adds `mcp` and its subcommand `pins` to the program. */
export function registerMcp(program: Command, ctx: McpCommandContext): Command {
  const parent = program
    .command('mcp')
    .description("MCP servers behind the gateway: `mcp pins` prints their tools' fingerprints for approval")
    .helpOption('-h, --help', 'show help for this command');

  parent
    .command('pins')
    .description("list an MCP server's tools and print their fingerprints as a policy file's mcpPins section")
    .helpOption('-h, --help', 'show help for this command')
    .showHelpAfterError('(run `agentgate mcp pins --help` for usage)')
    .argument('<connection...>', 'MCP connections of the catalog (protocol "mcp")')
    .option('--connections <file>', 'the connection catalog (default: AG_CONNECTIONS_FILE, else deploy/connections.json)')
    .option('--write <file>', 'write the pins to this file (e.g. in a policy directory) instead of stdout')
    .option('--server-stderr', "show a stdio server's own stderr (to see why it did not start)")
    .addHelpText(
      'after',
      '\nExamples:\n  npx agentgate mcp pins files everything\n' +
        '  npx agentgate mcp pins files everything --write deploy/policies/demo/mcp-pins.yaml\n\n' +
        "Starts each stdio server (or reaches each HTTP one) as the gateway does: the catalog's settings and\n" +
        'secrets (env:/file: references, resolved here), PATH and HOME, nothing else of this environment.\n' +
        "A fingerprint covers a tool's name, description and input schema. Exits 0 when the pins are printed,\n" +
        '1 when a server cannot be started, reached or listed, 2 for a catalog that does not parse.\n',
    )
    .action(async (names: string[], o: PinsOptions) => {
      try {
        ctx.setExit(await mcpPins(names, o, ctx));
      } catch (error) {
        ctx.setExit(reportFailure(error, ctx.io));
      }
    });
  return parent;
}
