// The SSH entries of the connection catalog (deploy/connections.json; the PostgreSQL ingress
// reads the others):
//   name, protocol "ssh", host, port, hostKey (reference to the target's host public key,
//   pinned), allowedGroups, logins [{ groups, username, credential (reference to the private
//   key the gateway logs in with) }]
// References are env:NAME or file:/path, with ${VAR} expanded from the service's environment.
// An agent names the connection as its SSH user name.
import { GatewayError } from '@agentgate/errors';
import { catalogEntries, expandReferences, readCatalogFile } from '@agentgate/ingress-core';

export interface SshLogin {
  groups: readonly string[];
  username: string;
  /** Reference to the private key (never the key). */
  credential: string;
}

export interface SshConnection {
  name: string;
  host: string;
  port: number;
  /** Reference to the target's host public key (`ssh-ed25519 AAAA...`). */
  hostKey: string;
  allowedGroups: readonly string[];
  logins: readonly SshLogin[];
}

export interface SshCatalog {
  get(name: string): SshConnection | undefined;
  names(): string[];
  /** The connections an identity with these groups may use (a certificate's principals). */
  usableBy(groups: readonly string[]): string[];
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** The first login sharing a group with the identity (list the narrowest first), if it may use the connection at all. */
export function loginFor(connection: SshConnection, groups: readonly string[]): SshLogin | undefined {
  if (!connection.allowedGroups.some((g) => groups.includes(g))) return undefined;
  return connection.logins.find((l) => l.groups.some((g) => groups.includes(g)));
}

/** Parses the ssh entries of the catalog; throws AG_ERR_CONFIG_INVALID on a malformed one or an inline secret. */
export function parseSshCatalog(json: string, env: Readonly<Record<string, string | undefined>>): SshCatalog {
  const byName = new Map<string, SshConnection>();
  for (const raw of catalogEntries(json)) {
    if (raw['protocol'] !== 'ssh') continue;
    const problems: string[] = [];
    const str = (k: string, from: Record<string, unknown> = raw): string => {
      const v = from[k];
      if (typeof v === 'string' && v !== '') return v;
      problems.push(`${k} must be a non-empty string`);
      return '';
    };
    const name = str('name');
    if ('password' in raw || 'privateKey' in raw)
      problems.push('inline secrets are not allowed; use "credential": "env:NAME" or "file:/path"');
    const port = raw['port'];
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) problems.push('port must be 1..65535');
    const allowedGroups = isStrings(raw['allowedGroups']) ? [...raw['allowedGroups']] : [];
    if (!isStrings(raw['allowedGroups'])) problems.push('allowedGroups must be an array of group names');
    const logins: SshLogin[] = [];
    if (!Array.isArray(raw['logins']) || raw['logins'].length === 0) problems.push('logins must be a non-empty array');
    else {
      for (const l of raw['logins'] as unknown[]) {
        const login = (typeof l === 'object' && l !== null ? l : {}) as Record<string, unknown>;
        if (!isStrings(login['groups'])) problems.push('each login needs groups');
        const credential = str('credential', login);
        if (credential !== '' && !/^(env|file):./.test(credential)) problems.push('a login credential must be env:NAME or file:/path');
        logins.push({ groups: isStrings(login['groups']) ? [...login['groups']] : [], username: str('username', login), credential });
      }
    }
    for (const g of allowedGroups) if (!logins.some((l) => l.groups.includes(g))) problems.push(`group ${g} has no login`);
    const hostKey = str('hostKey');
    if (problems.length > 0) throw new GatewayError('AG_ERR_CONFIG_INVALID', `connection ${name || '?'}: ${problems.join('; ')}`);
    if (byName.has(name)) throw new GatewayError('AG_ERR_CONFIG_INVALID', `connection ${name} is defined twice`);
    byName.set(
      name,
      Object.freeze({
        name,
        host: str('host'),
        port: port as number,
        hostKey: expandReferences(hostKey, env),
        allowedGroups: Object.freeze(allowedGroups),
        logins: Object.freeze(logins.map((l) => Object.freeze({ ...l, credential: expandReferences(l.credential, env) }))),
      }),
    );
  }
  return {
    get: (n) => byName.get(n),
    names: () => [...byName.keys()],
    usableBy: (groups) => [...byName.values()].filter((c) => loginFor(c, groups) !== undefined).map((c) => c.name),
  };
}

export function loadSshCatalog(path: string, env: Readonly<Record<string, string | undefined>>): SshCatalog {
  return parseSshCatalog(readCatalogFile(path), env);
}
