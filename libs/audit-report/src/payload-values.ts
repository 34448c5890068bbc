// Values read back from an event's payload_json (the writer's Avro JSON form), where a nullable
// field may come wrapped as {"string": "x"}. Pure.

export type Json = Record<string, unknown>;

/** A value of an Avro union, wrapped ({"string": "x"}) or not. */
export function unwrap(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Json);
    if (entries.length === 1) return entries[0]![1];
  }
  return value;
}

export function optString(value: unknown): string | null {
  const v = unwrap(value);
  return typeof v === 'string' ? v : null;
}

export function optNumber(value: unknown): number | null {
  const v = unwrap(value);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * The record inside a wrapped union of records (a RequestObserved's `detail` is
 * `{"agentgate.v1.HttpRequest": {...}}`) when it is the named one, else null.
 */
export function unionRecord(value: unknown, record: string): Json | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const entries = Object.entries(value as Json);
  const [name, inner] = entries[0] ?? [];
  if (entries.length !== 1 || (name !== `agentgate.v1.${record}` && name !== record)) return null;
  return inner !== null && typeof inner === 'object' && !Array.isArray(inner) ? (inner as Json) : null;
}

/** A recorded text cut to `max` characters (never inside a surrogate pair), with … when cut. */
export function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max).join('')}…`;
}
