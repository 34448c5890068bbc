// `agentgate connections`: the connection catalog, and with a token, which ones the caller may use.
import { readFile } from 'node:fs/promises';
import { GatewayError } from '@agentgate/errors';
import type { VerifiedIdentity } from '@agentgate/identity';
import { callerToken, verifyToken } from './caller.js';
import { mayUse, parseCatalog, type CatalogEntry } from './catalog.js';
import type { CliConfig } from './config.js';
import { printJson, table, type CliIo } from './output.js';

export interface ConnectionsOptions {
  tokenFile?: string | undefined;
  json: boolean;
}

/** Reads and parses the catalog file. */
export async function loadCatalog(file: string): Promise<CatalogEntry[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `cannot read the connections file ${file} (set AG_CONNECTIONS_FILE)`, { cause });
  }
  return parseCatalog(text, file);
}

/** The --json document; `may_use` only when a caller is known. Pure. */
export function catalogDocument(entries: readonly CatalogEntry[], caller: VerifiedIdentity | null): Record<string, unknown> {
  return {
    caller: caller === null ? null : { subject: caller.subject, groups: caller.groups },
    connections: entries.map((e) => ({
      name: e.name,
      protocol: e.protocol,
      target: { host: e.host, port: e.port, database: e.database },
      allowed_groups: e.allowedGroups,
      credential: e.credentialKind,
      ...(caller === null ? {} : { may_use: mayUse(e, caller.groups) }),
    })),
  };
}

/** The human table; a "you" column only when a caller is known. Pure. */
export function catalogText(entries: readonly CatalogEntry[], caller: VerifiedIdentity | null): string {
  const header = ['name', 'protocol', 'target', 'allowed groups', 'credential', ...(caller ? [`${caller.subject} may use`] : [])];
  const rows = entries.map((e) => [
    e.name,
    e.protocol,
    `${e.host}:${e.port}/${e.database}`,
    e.allowedGroups.join(', ') || '(nobody)',
    e.credentialKind,
    ...(caller ? [mayUse(e, caller.groups) ? 'yes' : 'no'] : []),
  ]);
  return table(header, rows);
}

export async function connections(config: Readonly<CliConfig>, options: ConnectionsOptions, io: CliIo): Promise<number> {
  const entries = await loadCatalog(config.connectionsFile);
  const token = await callerToken(config, options.tokenFile);
  // A token that is set but does not verify is an error, not a silent "may use nothing".
  const caller = token === null ? null : await verifyToken(config, token);
  if (options.json) {
    printJson(io, catalogDocument(entries, caller));
    return 0;
  }
  io.out(catalogText(entries, caller));
  if (caller === null) io.err('set AGENTGATE_TOKEN to see which connections you may use\n');
  return 0;
}
