// The connection catalog: which targets exist and how the gateway logs in to them.
// Secrets are never in the file, only references (`env:NAME`, `file:/path`), resolved at
// use time so a rotated secret is picked up by the next session.
import { readFileSync } from 'node:fs';
import { GatewayError } from '@agentgate/errors';

export interface PostgresConnection {
  name: string;
  protocol: 'postgres';
  host: string;
  port: number;
  database: string;
  username: string;
  /** `env:NAME` or `file:/path`; `${VAR}` in the path is expanded from the environment at load. */
  credential: string;
  allowedGroups: string[];
  tls: { mode: 'disable' | 'prefer' | 'require' | 'verify-full'; caFile?: string; serverName?: string };
}

export interface ConnectionCatalog {
  get(name: string): PostgresConnection | undefined;
  names(): string[];
}

function expand(text: string, env: Readonly<Record<string, string | undefined>>): string {
  return text.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
    const value = env[name];
    if (value === undefined) throw new GatewayError('AG_ERR_CONFIG_INVALID', `connections file references unset variable ${name}`);
    return value;
  });
}

/** Parses the catalog; throws AG_ERR_CONFIG_INVALID on any malformed entry or inline secret. */
export function parseConnectionCatalog(json: string, env: Readonly<Record<string, string | undefined>>): ConnectionCatalog {
  let doc: { connections?: unknown };
  try {
    doc = JSON.parse(json) as typeof doc;
  } catch (cause) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', 'connections file is not valid JSON', { cause });
  }
  if (!Array.isArray(doc.connections)) throw new GatewayError('AG_ERR_CONFIG_INVALID', 'connections file needs a "connections" array');
  const byName = new Map<string, PostgresConnection>();
  for (const raw of doc.connections as Record<string, unknown>[]) {
    const problems: string[] = [];
    const str = (k: string): string => {
      if (typeof raw[k] === 'string' && raw[k] !== '') return raw[k] as string;
      problems.push(`${k} must be a non-empty string`);
      return '';
    };
    const name = str('name');
    if ('password' in raw) problems.push('inline passwords are not allowed; use "credential": "env:NAME" or "file:/path"');
    if (raw['protocol'] !== 'postgres') problems.push('protocol must be "postgres"');
    const port = raw['port'];
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) problems.push('port must be 1..65535');
    const credential = str('credential');
    if (credential && !/^(env|file):.+/.test(credential)) problems.push('credential must be env:NAME or file:/path');
    const groups = raw['allowedGroups'];
    if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) problems.push('allowedGroups must be an array of strings');
    const tlsRaw = (raw['tls'] ?? { mode: 'prefer' }) as Record<string, unknown>;
    const mode = tlsRaw['mode'];
    if (mode !== 'disable' && mode !== 'prefer' && mode !== 'require' && mode !== 'verify-full')
      problems.push('tls.mode must be disable, prefer, require or verify-full');
    if (mode === 'verify-full' && typeof tlsRaw['caFile'] !== 'string') problems.push('tls.caFile is required for verify-full');
    const tls: PostgresConnection['tls'] = { mode: mode as PostgresConnection['tls']['mode'] };
    if (typeof tlsRaw['caFile'] === 'string') tls.caFile = expand(tlsRaw['caFile'], env);
    if (typeof tlsRaw['serverName'] === 'string') tls.serverName = tlsRaw['serverName'];
    const entry: PostgresConnection = {
      tls,
      name,
      protocol: 'postgres',
      host: str('host'),
      port: port as number,
      database: str('database'),
      username: str('username'),
      credential: credential ? expand(credential, env) : '',
      allowedGroups: (groups as string[]) ?? [],
    };
    if (problems.length > 0) throw new GatewayError('AG_ERR_CONFIG_INVALID', `connection ${name || '?'}: ${problems.join('; ')}`);
    if (byName.has(name)) throw new GatewayError('AG_ERR_CONFIG_INVALID', `connection ${name} is defined twice`);
    byName.set(name, Object.freeze(entry));
  }
  return { get: (n) => byName.get(n), names: () => [...byName.keys()] };
}

/** Loads the catalog from a file. */
export function loadConnectionCatalog(path: string, env: Readonly<Record<string, string | undefined>>): ConnectionCatalog {
  let json: string;
  try {
    json = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `cannot read connections file ${path}`, { cause });
  }
  return parseConnectionCatalog(json, env);
}

/** Resolves a credential reference to the secret. The secret is returned, never logged. */
export function resolveCredential(reference: string, env: Readonly<Record<string, string | undefined>>): string {
  const [scheme, ...rest] = reference.split(':');
  const target = rest.join(':');
  try {
    if (scheme === 'env') {
      const value = env[target];
      if (value === undefined || value === '') throw new Error(`environment variable ${target} is not set`);
      return value;
    }
    if (scheme === 'file') return readFileSync(target, 'utf8').replace(/\r?\n$/, '');
  } catch (cause) {
    throw new GatewayError('AG_ERR_CREDENTIAL_UNAVAILABLE', `credential ${scheme}:${target} could not be resolved`, { cause });
  }
  throw new GatewayError('AG_ERR_CREDENTIAL_UNAVAILABLE', `unknown credential scheme ${scheme}`);
}
