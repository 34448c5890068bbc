// Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, in the spirit of
// RFC 8785 (JCS). Audit events hold only strings, booleans, integers, arrays and records,
// so JCS's number rules reduce to integer formatting, which JSON.stringify already does.
import { GatewayError } from '@agentgate/errors';

/** Deterministic JSON text of a value: the same value always gives the same bytes. */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isSafeInteger(value)) throw new GatewayError('AG_ERR_EVENT_INVALID', 'canonical JSON accepts safe integers only');
      return String(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record)
        .filter((k) => record[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
    }
    default:
      throw new GatewayError('AG_ERR_EVENT_INVALID', `canonical JSON cannot hold a ${typeof value}`);
  }
}
