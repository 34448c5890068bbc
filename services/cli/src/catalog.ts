// A read-only view of the connection catalog (deploy/connections.json, AG_CONNECTIONS_FILE)
// for listing. The ingress owns the full parser (credentials, TLS); this reads only what a
// user needs to pick a connection, and of a credential only its kind, never the reference.
import { GatewayError } from '@agentgate/errors';

export interface CatalogEntry {
  name: string;
  protocol: string;
  host: string;
  port: number;
  database: string;
  allowedGroups: string[];
  /** `env` or `file`: how the gateway finds the secret. The reference itself is not kept. */
  credentialKind: string;
}

/** Parses the catalog text; throws AG_ERR_CONFIG_INVALID naming the file and the entry. Pure. */
export function parseCatalog(text: string, source: string): CatalogEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `connections file ${source} is not valid JSON`, { cause });
  }
  const list = (doc as { connections?: unknown } | null)?.connections;
  if (!Array.isArray(list)) throw new GatewayError('AG_ERR_CONFIG_INVALID', `connections file ${source} needs a "connections" array`);
  return list.map((raw: unknown, i) => {
    const entry = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const problems: string[] = [];
    const str = (k: string): string => {
      const v = entry[k];
      if (typeof v === 'string' && v !== '') return v;
      problems.push(`${k} must be a non-empty string`);
      return '';
    };
    const name = str('name');
    const protocol = str('protocol');
    if (protocol === 'mcp') return mcpEntry(entry, name, source, i);
    // An HTTP connection names its upstream by baseUrl (host and port are read from it).
    const baseUrl =
      protocol === 'http' && typeof entry['baseUrl'] === 'string' && URL.canParse(entry['baseUrl']) ? new URL(entry['baseUrl']) : null;
    const host = baseUrl ? baseUrl.hostname : str('host');
    // Only a PostgreSQL connection names a database.
    const database = protocol === 'postgres' ? str('database') : typeof entry['database'] === 'string' ? entry['database'] : '';
    const port = baseUrl ? Number(baseUrl.port || (baseUrl.protocol === 'https:' ? 443 : 80)) : entry['port'];
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) problems.push('port must be 1..65535');
    const groups = entry['allowedGroups'];
    if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) problems.push('allowedGroups must be an array of strings');
    // One credential, or one per target login (`logins`, first match by group: the ingress decides).
    const logins = entry['logins'];
    const upstreamAuth = entry['upstreamAuth'];
    const references =
      typeof upstreamAuth === 'object' && upstreamAuth !== null
        ? [(upstreamAuth as Record<string, unknown>)['credential'] ?? 'none:']
        : Array.isArray(logins)
          ? logins.map((l: unknown) => (typeof l === 'object' && l !== null ? (l as Record<string, unknown>)['credential'] : undefined))
          : [entry['credential']];
    const kinds = references.map((c) => (typeof c === 'string' ? /^([a-z]+):/.exec(c)?.[1] : undefined));
    const kind = kinds.length > 0 && kinds.every((k) => k !== undefined) ? [...new Set(kinds)].join(',') : undefined;
    if (kind === undefined) problems.push('credential must be a reference such as env:NAME or file:/path');
    if (problems.length > 0) {
      throw new GatewayError('AG_ERR_CONFIG_INVALID', `connections file ${source}, entry ${name || `#${i + 1}`}: ${problems.join('; ')}`);
    }
    return {
      name,
      protocol,
      host,
      port: port as number,
      database,
      allowedGroups: [...(groups as string[])],
      credentialKind: kind as string,
    };
  });
}

/**
 * An MCP connection: its server is a process the gateway starts (host `stdio`, port 0) or a
 * Streamable HTTP URL; its credential kinds are those of its bearer or secretEnv references.
 */
function mcpEntry(entry: Record<string, unknown>, name: string, source: string, i: number): CatalogEntry {
  const groups = entry['allowedGroups'];
  const url =
    entry['transport'] === 'http' && typeof entry['url'] === 'string' && URL.canParse(entry['url']) ? new URL(entry['url']) : null;
  const secretEnv = entry['secretEnv'];
  const references = [
    ...(typeof entry['bearer'] === 'string' ? [entry['bearer']] : []),
    ...(typeof secretEnv === 'object' && secretEnv !== null ? Object.values(secretEnv as Record<string, unknown>) : []),
  ];
  const kinds = references.map((c) => (typeof c === 'string' ? /^([a-z]+):/.exec(c)?.[1] : undefined));
  if (
    !Array.isArray(groups) ||
    !groups.every((g) => typeof g === 'string') ||
    kinds.some((k) => k === undefined) ||
    (entry['transport'] === 'http' && !url)
  )
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `connections file ${source}, entry ${name || `#${i + 1}`}: not a valid mcp connection`);
  return {
    name,
    protocol: 'mcp',
    host: url ? url.hostname : 'stdio',
    port: url ? Number(url.port || (url.protocol === 'https:' ? 443 : 80)) : 0,
    database: '',
    allowedGroups: [...(groups as string[])],
    credentialKind: kinds.length > 0 ? [...new Set(kinds)].join(',') : 'none',
  };
}

/** Whether any of the groups may use the connection (the ingress's rule: one group in common). */
export function mayUse(entry: Pick<CatalogEntry, 'allowedGroups'>, groups: readonly string[]): boolean {
  return entry.allowedGroups.some((g) => groups.includes(g));
}
