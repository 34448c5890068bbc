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
