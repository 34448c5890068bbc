// The HTTP entries of the connection catalog (deploy/connections.json; the other ingresses read
// the others):
//   name, protocol "http", baseUrl (http: or https:, no query, fragment or user info),
//   allowedGroups, upstreamAuth { type: none | bearer | basic | header, header (type header),
//   username (type basic), credential (reference to the secret; every type but none) },
//   tls { caFile } (optional, https only: the CA the upstream's certificate is checked against;
//   without it the system's store)
// References are env:NAME or file:/path, with ${VAR} expanded from the service's environment.
// An agent names the connection as the first segment of the URL path (/registry/v2/...).
import { GatewayError } from '@agentgate/errors';
import { catalogEntries, expandReferences, readCatalogFile } from '@agentgate/ingress-core';

export type UpstreamAuth =
  | { readonly type: 'none' }
  | { readonly type: 'bearer'; readonly credential: string }
  | { readonly type: 'basic'; readonly username: string; readonly credential: string }
  | { readonly type: 'header'; readonly header: string; readonly credential: string };

export interface HttpConnection {
  readonly name: string;
  /** scheme://host:port, what undici connects to. */
  readonly origin: string;
  /** The base URL's path without its trailing slash ('' for the root): the agent's path is appended. */
  readonly basePath: string;
  readonly host: string;
  readonly port: number;
  readonly allowedGroups: readonly string[];
  readonly upstreamAuth: UpstreamAuth;
  /** PEM file of the CA an https upstream is verified against (never unverified). */
  readonly caFile: string | null;
}

export interface HttpCatalog {
  get(name: string): HttpConnection | undefined;
  names(): string[];
}

/** Connection names appear raw in the URL path: nothing that needs percent-encoding. */
export const CONNECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

// RFC 9110 token: a header name.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Headers an upstreamAuth of type header may not name: the gateway owns or strips them. */
const RESERVED_AUTH_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
  'cookie',
  'accept-encoding',
]);

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Whether an identity with these groups may use the connection. */
export function mayUse(connection: HttpConnection, groups: readonly string[]): boolean {
  return connection.allowedGroups.some((g) => groups.includes(g));
}

function parseAuth(raw: unknown, problems: string[]): UpstreamAuth {
  const auth = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const type = auth['type'];
  for (const inline of ['password', 'token', 'secret', 'value'])
    if (inline in auth) problems.push('inline secrets are not allowed; use "credential": "env:NAME" or "file:/path"');
  if (type === 'none') return { type };
  const credential = auth['credential'];
  if (typeof credential !== 'string' || !/^(env|file):./.test(credential)) {
    problems.push('upstreamAuth.credential must be env:NAME or file:/path');
    return { type: 'none' };
  }
  switch (type) {
    case 'bearer':
      return { type, credential };
    case 'basic': {
      const username = auth['username'];
      if (typeof username !== 'string' || username === '' || username.includes(':'))
        problems.push('upstreamAuth.username must be a non-empty string without ":"');
      return { type, username: String(username), credential };
    }
    case 'header': {
      const header = auth['header'];
      if (typeof header !== 'string' || !TOKEN.test(header)) problems.push('upstreamAuth.header must be a header name');
      else if (RESERVED_AUTH_HEADERS.has(header.toLowerCase())) problems.push(`upstreamAuth.header may not be ${header}`);
      return { type, header: String(header).toLowerCase(), credential };
    }
    default:
      problems.push('upstreamAuth.type must be none, bearer, basic or header');
      return { type: 'none' };
  }
}

function parseBaseUrl(raw: unknown, problems: string[]): URL | undefined {
  if (typeof raw !== 'string') {
    problems.push('baseUrl must be a URL');
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push('baseUrl must be a URL');
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push('baseUrl must be http: or https:');
  if (url.username !== '' || url.password !== '') problems.push('baseUrl may not carry user info; use upstreamAuth');
  if (url.search !== '' || url.hash !== '' || raw.includes('?') || raw.includes('#'))
    problems.push('baseUrl may not have a query or fragment');
  return url;
}

/** Parses the http entries of the catalog; throws AG_ERR_CONFIG_INVALID on a malformed one or an inline secret. */
export function parseHttpCatalog(json: string, env: Readonly<Record<string, string | undefined>>): HttpCatalog {
  const byName = new Map<string, HttpConnection>();
  for (const raw of catalogEntries(json)) {
    if (raw['protocol'] !== 'http') continue;
    const problems: string[] = [];
    const name = typeof raw['name'] === 'string' ? raw['name'] : '';
    if (!CONNECTION_NAME.test(name)) problems.push('name must be 1-63 letters, digits, _ . - (it is a URL path segment)');
    if ('password' in raw || 'token' in raw || 'secret' in raw)
      problems.push('inline secrets are not allowed; use "credential": "env:NAME" or "file:/path"');
    const url = parseBaseUrl(raw['baseUrl'], problems);
    const allowedGroups = isStrings(raw['allowedGroups']) ? [...raw['allowedGroups']] : [];
    if (!isStrings(raw['allowedGroups']) || allowedGroups.length === 0)
      problems.push('allowedGroups must be a non-empty array of group names');
    const upstreamAuth = parseAuth(raw['upstreamAuth'] ?? { type: 'none' }, problems);
    const tls = (typeof raw['tls'] === 'object' && raw['tls'] !== null ? raw['tls'] : {}) as Record<string, unknown>;
    const caFile = tls['caFile'];
    if (caFile !== undefined && (typeof caFile !== 'string' || caFile === '')) problems.push('tls.caFile must be a path');
    if (caFile !== undefined && url?.protocol === 'http:') problems.push('tls.caFile needs an https: baseUrl');
    if (problems.length > 0 || !url) throw new GatewayError('AG_ERR_CONFIG_INVALID', `connection ${name || '?'}: ${problems.join('; ')}`);
    if (byName.has(name)) throw new GatewayError('AG_ERR_CONFIG_INVALID', `connection ${name} is defined twice`);
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    byName.set(
      name,
      Object.freeze({
        name,
        origin: url.origin,
        basePath: url.pathname.replace(/\/+$/, ''),
        // URL keeps the brackets of an IPv6 literal in hostname; the audit records the address.
        host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port,
        allowedGroups: Object.freeze(allowedGroups),
        upstreamAuth: Object.freeze(
          upstreamAuth.type === 'none' ? upstreamAuth : { ...upstreamAuth, credential: expandReferences(upstreamAuth.credential, env) },
        ),
        caFile: typeof caFile === 'string' ? expandReferences(caFile, env) : null,
      }),
    );
  }
  return { get: (n) => byName.get(n), names: () => [...byName.keys()] };
}

export function loadHttpCatalog(path: string, env: Readonly<Record<string, string | undefined>>): HttpCatalog {
  return parseHttpCatalog(readCatalogFile(path), env);
}
