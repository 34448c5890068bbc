// The MCP entries of the connection catalog (deploy/connections.json; other ingresses read the
// others). An agent reaches one at https://<gateway>:18443/mcp/<name>.
//   name, protocol "mcp", allowedGroups, transport "stdio" | "http"
//   stdio: command, args[], env { NAME: value } (plain settings), secretEnv { NAME: reference }
//          (env:NAME or file:/path, resolved when the server starts), cwd (optional).
//          The gateway starts one server process per agent session: sessions share no state.
//   http:  url (Streamable HTTP endpoint), bearer (optional reference: the gateway's token for it).
// ${VAR} is expanded from the caller's environment (passed in: a lib never reads env).
import { GatewayError } from '@agentgate/errors';

export interface McpStdioUpstream {
  readonly transport: 'stdio';
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly secretEnv: Readonly<Record<string, string>>;
  readonly cwd: string | null;
}

export interface McpHttpUpstream {
  readonly transport: 'http';
  readonly url: string;
  /** Reference to the bearer token the gateway presents; null for none. */
  readonly bearer: string | null;
}

export interface McpConnection {
  readonly name: string;
  readonly allowedGroups: readonly string[];
  readonly upstream: McpStdioUpstream | McpHttpUpstream;
}

export interface McpCatalog {
  get(name: string): McpConnection | undefined;
  names(): string[];
}

type Env = Readonly<Record<string, string | undefined>>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REFERENCE = /^(env|file):./;

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function expand(text: string, env: Env): string {
  return text.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
    const value = env[name];
    if (value === undefined) throw new GatewayError('AG_ERR_CONFIG_INVALID', `connections file references unset variable ${name}`);
    return value;
  });
}

function stringMap(raw: unknown, what: string, problems: string[], check: (value: string) => boolean): Record<string, string> {
  if (raw === undefined) return {};
  if (!isObject(raw)) {
    problems.push(`${what} must be an object`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!ENV_NAME.test(k) || typeof v !== 'string' || !check(v)) problems.push(`${what}.${k} is not valid`);
    else out[k] = v;
  }
  return out;
}

function parseUpstream(raw: Record<string, unknown>, env: Env, problems: string[]): McpStdioUpstream | McpHttpUpstream | undefined {
  const transport = raw['transport'];
  if (transport === 'stdio') {
    const command = raw['command'];
    if (typeof command !== 'string' || command === '') problems.push('command must be a program');
    const args = raw['args'] ?? [];
    if (!isStrings(args)) problems.push('args must be an array of strings');
    const cwd = raw['cwd'];
    if (cwd !== undefined && (typeof cwd !== 'string' || cwd === '')) problems.push('cwd must be a path');
    const plain = stringMap(raw['env'], 'env', problems, () => true);
    const secrets = stringMap(raw['secretEnv'], 'secretEnv', problems, (v) => REFERENCE.test(v));
    if (problems.length > 0) return undefined;
    return {
      transport,
      command: expand(command as string, env),
      args: (args as string[]).map((a) => expand(a, env)),
      env: Object.fromEntries(Object.entries(plain).map(([k, v]) => [k, expand(v, env)])),
      secretEnv: Object.fromEntries(Object.entries(secrets).map(([k, v]) => [k, expand(v, env)])),
      cwd: typeof cwd === 'string' ? expand(cwd, env) : null,
    };
  }
  if (transport === 'http') {
    const url = raw['url'];
    let parsed: URL | undefined;
    try {
      parsed = typeof url === 'string' ? new URL(expand(url, env)) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) problems.push('url must be an http: or https: URL');
    else if (parsed.username !== '' || parsed.password !== '') problems.push('url may not carry user info; use bearer');
    const bearer = raw['bearer'];
    if (bearer !== undefined && (typeof bearer !== 'string' || !REFERENCE.test(bearer)))
      problems.push('bearer must be env:NAME or file:/path');
    if (problems.length > 0 || !parsed) return undefined;
    return { transport, url: parsed.href, bearer: typeof bearer === 'string' ? expand(bearer, env) : null };
  }
  problems.push('transport must be stdio or http');
  return undefined;
}

/** Parses the mcp entries of the catalog's connections; throws AG_ERR_CONFIG_INVALID naming the entry's problems. */
export function parseMcpCatalog(entries: readonly Record<string, unknown>[], env: Env): McpCatalog {
  const byName = new Map<string, McpConnection>();
  for (const raw of entries) {
    if (raw['protocol'] !== 'mcp') continue;
    const problems: string[] = [];
    const name = typeof raw['name'] === 'string' ? raw['name'] : '';
    if (!NAME.test(name)) problems.push('name must be 1-63 letters, digits, _ . - (it is a URL path segment)');
    for (const inline of ['password', 'token', 'secret'])
      if (inline in raw) problems.push('inline secrets are not allowed; use secretEnv or bearer references');
    const allowedGroups = isStrings(raw['allowedGroups']) ? [...raw['allowedGroups']] : [];
    if (allowedGroups.length === 0) problems.push('allowedGroups must be a non-empty array of group names');
    const upstream = parseUpstream(raw, env, problems);
    if (problems.length > 0 || !upstream)
      throw new GatewayError('AG_ERR_CONFIG_INVALID', `connection ${name || '?'}: ${problems.join('; ')}`);
    if (byName.has(name)) throw new GatewayError('AG_ERR_CONFIG_INVALID', `connection ${name} is defined twice`);
    byName.set(name, Object.freeze({ name, allowedGroups: Object.freeze(allowedGroups), upstream: Object.freeze(upstream) }));
  }
  return { get: (n) => byName.get(n), names: () => [...byName.keys()] };
}

/** Whether an identity with these groups may use the connection. */
export function mayUseMcp(connection: McpConnection, groups: readonly string[]): boolean {
  return connection.allowedGroups.some((g) => groups.includes(g));
}
