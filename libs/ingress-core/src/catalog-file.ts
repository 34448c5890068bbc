// The connection catalog's file (deploy/connections.json) as every ingress reads it: one file
// for every protocol, each ingress parsing its own entries. Here: the document's shape and the
// ${VAR} expansion its references use; each ingress validates the fields of its protocol.
import { readFileSync } from 'node:fs';
import { GatewayError } from '@agentgate/errors';

/** Reads the catalog file; AG_ERR_CONFIG_INVALID names the path when it cannot be read. */
export function readCatalogFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `cannot read connections file ${path}`, { cause });
  }
}

/** The catalog's entries, each an object (a malformed entry becomes an empty one, for its parser to refuse). */
export function catalogEntries(json: string): Record<string, unknown>[] {
  let doc: { connections?: unknown };
  try {
    doc = JSON.parse(json) as typeof doc;
  } catch (cause) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', 'connections file is not valid JSON', { cause });
  }
  if (!Array.isArray(doc.connections)) throw new GatewayError('AG_ERR_CONFIG_INVALID', 'connections file needs a "connections" array');
  return (doc.connections as unknown[]).map((item) => (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>);
}

/** Expands ${VAR} from the service's environment; an unset variable is a configuration error. */
export function expandReferences(text: string, env: Readonly<Record<string, string | undefined>>): string {
  return text.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
    const value = env[name];
    if (value === undefined) throw new GatewayError('AG_ERR_CONFIG_INVALID', `connections file references unset variable ${name}`);
    return value;
  });
}
