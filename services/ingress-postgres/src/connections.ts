// The connection catalog: which targets exist and how the gateway logs in to them.
// Secrets are never in the file, only references (`env:NAME`, `file:/path`), resolved at
// use time so a rotated secret is picked up by the next session.
//
// An entry (deploy/connections.json; README "Connections" has the whole story):
//   name, protocol "postgres", host, port, database
//   allowedGroups  the groups that may use the connection (one in common admits an agent)
//   logins         ordered [{ groups, username, credential }]: the target role an agent logs
//                  in as is the FIRST login sharing a group with the agent. Put the narrowest
//                  login first, so an agent in both a read-only and a read-write group gets
//                  the read-only role. Every login's groups are allowed groups, and every
//                  allowed group has a login, so an admitted agent always gets exactly one.
//                  Shorthand: top-level `username` + `credential` is one login for every
//                  allowed group.
//   auth           upstream authentication methods the gateway will answer; default
//                  ["scram-sha-256"]. "md5" and "password" (cleartext) send a form of the
//                  vaulted password over the wire and "trust" accepts a target that asks for
//                  nothing (the gateway cannot tell it from an impostor): each is an opt-in.
//   tls.mode       verify-full (default: chain and host name), verify-ca (chain only),
//                  require (encryption only; with a caFile the chain is still verified, as
//                  libpq does), disable (plaintext). require and disable are weaker opt-ins.
//                  prefer is refused: it falls back to plaintext without saying so.
import { GatewayError } from '@agentgate/errors';
import { catalogEntries, expandReferences, readCatalogFile } from '@agentgate/ingress-core';

/** Upstream authentication methods, by pg_hba.conf's names. */
export type UpstreamAuthMethod = 'scram-sha-256' | 'md5' | 'password' | 'trust';
const AUTH_METHODS: readonly UpstreamAuthMethod[] = ['scram-sha-256', 'md5', 'password', 'trust'];

/** How the gateway protects its own connection to the target (libpq's sslmode names). */
export type UpstreamTlsMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';
const TLS_MODES: readonly UpstreamTlsMode[] = ['disable', 'require', 'verify-ca', 'verify-full'];

/** One target role of a connection, and the groups whose agents log in as it. */
export interface TargetLogin {
  groups: readonly string[];
  username: string;
  /** `env:NAME` or `file:/path`; `${VAR}` in the path is expanded from the environment at load. */
  credential: string;
}

export interface PostgresConnection {
  name: string;
  protocol: 'postgres';
  host: string;
  port: number;
  database: string;
  /** First match wins (see the header). */
  logins: readonly TargetLogin[];
  allowedGroups: readonly string[];
  /** Upstream authentication methods the gateway answers; anything else fails the login. */
  auth: readonly UpstreamAuthMethod[];
  tls: { mode: UpstreamTlsMode; caFile?: string; serverName?: string };
}

export interface ConnectionCatalog {
  get(name: string): PostgresConnection | undefined;
  names(): string[];
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((g) => typeof g === 'string' && g !== '');

function parseLogins(
  raw: Record<string, unknown>,
  allowedGroups: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
): TargetLogin[] {
  const hasShorthand = 'username' in raw || 'credential' in raw;
  if (hasShorthand && 'logins' in raw) {
    problems.push('give either "logins" or top-level "username" and "credential", not both');
    return [];
  }
  const list: unknown[] = hasShorthand
    ? [{ groups: allowedGroups, username: raw['username'], credential: raw['credential'] }]
    : Array.isArray(raw['logins'])
      ? (raw['logins'] as unknown[])
      : [];
  if (list.length === 0) {
    problems.push('logins must be a non-empty array of { groups, username, credential }');
    return [];
  }
  const logins: TargetLogin[] = [];
  for (const [i, item] of list.entries()) {
    const login = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const where = hasShorthand ? '' : `logins[${i}].`;
    const { groups, username, credential } = login;
    const before = problems.length;
    if ('password' in login)
      problems.push(`${where}password: inline passwords are not allowed; use "credential": "env:NAME" or "file:/path"`);
    if (!isStringArray(groups) || groups.length === 0) problems.push(`${where}groups must be a non-empty array of group names`);
    else {
      const stray = groups.filter((g) => !allowedGroups.includes(g));
      if (stray.length > 0) problems.push(`${where}groups ${stray.join(', ')} are not in allowedGroups`);
    }
    if (typeof username !== 'string' || username === '') problems.push(`${where}username must be a non-empty string`);
    if (typeof credential !== 'string' || !/^(env|file):.+/.test(credential))
      problems.push(`${where}credential must be env:NAME or file:/path`);
    if (problems.length > before) continue;
    logins.push(
      Object.freeze({
        groups: Object.freeze([...(groups as string[])]),
        username: username as string,
        credential: expandReferences(credential as string, env),
      }),
    );
  }
  const uncovered = allowedGroups.filter((g) => !logins.some((l) => l.groups.includes(g)));
  if (logins.length === list.length && uncovered.length > 0) problems.push(`allowed groups ${uncovered.join(', ')} have no login`);
  return logins;
}

function parseTls(raw: unknown, env: Readonly<Record<string, string | undefined>>, problems: string[]): PostgresConnection['tls'] {
  const tlsRaw = (raw ?? {}) as Record<string, unknown>;
  const mode = tlsRaw['mode'] ?? 'verify-full';
  if (mode === 'prefer') problems.push('tls.mode prefer falls back to plaintext silently; use verify-full, verify-ca, require or disable');
  else if (!TLS_MODES.includes(mode as UpstreamTlsMode)) problems.push(`tls.mode must be one of ${TLS_MODES.join(', ')}`);
  // verify-full without a CA file trusts the system's store (libpq's sslrootcert=system);
  // verify-ca against the system's store would accept any publicly issued certificate.
  if (mode === 'verify-ca' && typeof tlsRaw['caFile'] !== 'string') problems.push('tls.caFile is required for verify-ca');
  if ('caFile' in tlsRaw && typeof tlsRaw['caFile'] !== 'string') problems.push('tls.caFile must be a path');
  if ('serverName' in tlsRaw && typeof tlsRaw['serverName'] !== 'string') problems.push('tls.serverName must be a string');
  const tls: PostgresConnection['tls'] = { mode: mode as UpstreamTlsMode };
  if (typeof tlsRaw['caFile'] === 'string') tls.caFile = expandReferences(tlsRaw['caFile'], env);
  if (typeof tlsRaw['serverName'] === 'string') tls.serverName = tlsRaw['serverName'];
  return tls;
}

function parseAuth(raw: unknown, problems: string[]): UpstreamAuthMethod[] {
  if (raw === undefined) return ['scram-sha-256'];
  if (!isStringArray(raw) || raw.length === 0 || new Set(raw).size !== raw.length) {
    problems.push(`auth must be a non-empty list of distinct methods (${AUTH_METHODS.join(', ')})`);
    return [];
  }
  const unknown = raw.filter((m) => !AUTH_METHODS.includes(m as UpstreamAuthMethod));
  if (unknown.length > 0) problems.push(`auth methods ${unknown.join(', ')} are unknown; use ${AUTH_METHODS.join(', ')}`);
  return raw as UpstreamAuthMethod[];
}

/** Protocols of the catalog that other ingresses serve (services/ingress-ssh reads `ssh`, services/ingress-http `http` and `mcp`). */
const OTHER_PROTOCOLS: readonly string[] = ['ssh', 'http', 'mcp'];

/** Parses the catalog; throws AG_ERR_CONFIG_INVALID on any malformed entry or inline secret. */
export function parseConnectionCatalog(json: string, env: Readonly<Record<string, string | undefined>>): ConnectionCatalog {
  const byName = new Map<string, PostgresConnection>();
  const otherNames = new Set<string>();
  for (const raw of catalogEntries(json)) {
    // One catalog for every protocol: each ingress reads its own entries; names stay unique across all.
    if (OTHER_PROTOCOLS.includes(raw['protocol'] as string)) {
      const other = String(raw['name'] ?? '');
      if (byName.has(other) || otherNames.has(other))
        throw new GatewayError('AG_ERR_CONFIG_INVALID', `connection ${other} is defined twice`);
      otherNames.add(other);
      continue;
    }
    const problems: string[] = [];
    const str = (k: string): string => {
      if (typeof raw[k] === 'string' && raw[k] !== '') return raw[k] as string;
      problems.push(`${k} must be a non-empty string`);
      return '';
    };
    const name = str('name');
    if ('password' in raw) problems.push('inline passwords are not allowed; use "credential": "env:NAME" or "file:/path"');
    if (raw['protocol'] !== 'postgres') problems.push(`protocol must be "postgres" or one of ${OTHER_PROTOCOLS.join(', ')}`);
    const port = raw['port'];
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) problems.push('port must be 1..65535');
    const groups = raw['allowedGroups'];
    const allowedGroups = isStringArray(groups) ? Object.freeze([...groups]) : [];
    if (!isStringArray(groups)) problems.push('allowedGroups must be an array of group names');
    const entry: PostgresConnection = {
      name,
      protocol: 'postgres',
      host: str('host'),
      port: port as number,
      database: str('database'),
      logins: Object.freeze(parseLogins(raw, allowedGroups, env, problems)),
      allowedGroups,
      auth: Object.freeze(parseAuth(raw['auth'], problems)),
      tls: Object.freeze(parseTls(raw['tls'], env, problems)),
    };
    if (problems.length > 0) throw new GatewayError('AG_ERR_CONFIG_INVALID', `connection ${name || '?'}: ${problems.join('; ')}`);
    if (byName.has(name) || otherNames.has(name)) throw new GatewayError('AG_ERR_CONFIG_INVALID', `connection ${name} is defined twice`);
    byName.set(name, Object.freeze(entry));
  }
  return { get: (n) => byName.get(n), names: () => [...byName.keys()] };
}

/** Loads the catalog from a file. */
export function loadConnectionCatalog(path: string, env: Readonly<Record<string, string | undefined>>): ConnectionCatalog {
  return parseConnectionCatalog(readCatalogFile(path), env);
}

/** Whether an agent with these groups may use the connection: one group in common. */
export function mayUse(connection: Pick<PostgresConnection, 'allowedGroups'>, groups: readonly string[]): boolean {
  return connection.allowedGroups.some((g) => groups.includes(g));
}

/** The target login for an agent's groups: the first login sharing a group; undefined when none does. */
export function loginFor(connection: Pick<PostgresConnection, 'logins'>, groups: readonly string[]): TargetLogin | undefined {
  return connection.logins.find((login) => login.groups.some((g) => groups.includes(g)));
}

/**
 * Resolves a connection name for an agent, with its target login. The agent's error never
 * names a connection it may not use: only the name it asked for (its own input) and the
 * connections its groups may use. (Unknown and forbidden keep their own codes, 3D000 and
 * 28000, so a verified agent can tell that a name exists; it cannot list the others.)
 */
export function admitConnection(
  catalog: ConnectionCatalog,
  requested: string,
  groups: readonly string[],
): { connection: PostgresConnection; login: TargetLogin } {
  const connection = catalog.get(requested);
  const usable = catalog.names().filter((n) => {
    const c = catalog.get(n);
    return c !== undefined && mayUse(c, groups);
  });
  const yours = usable.length > 0 ? `connections you may use: ${usable.join(', ')}` : 'you may use no connection';
  if (!connection) throw new GatewayError('AG_ERR_CONNECTION_UNKNOWN', `no connection named ${JSON.stringify(requested)}; ${yours}`);
  const login = mayUse(connection, groups) ? loginFor(connection, groups) : undefined;
  if (!login)
    throw new GatewayError('AG_ERR_CONNECTION_FORBIDDEN', `your groups may not use connection ${JSON.stringify(requested)}; ${yours}`);
  return { connection, login };
}
