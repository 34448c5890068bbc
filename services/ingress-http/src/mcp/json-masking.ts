// What an MCP result goes through on its way to the agent: every string in it (text content,
// structured content, embedded resources, prompt messages, object keys) through the verdict's
// detectors.
// A base64 blob cannot be read for detectors, so a result with one is not released when a plan
// applies (fail closed), like a compressed HTTP body the gateway cannot decode. Pure.
import type { CompiledPlan } from '@agentgate/masking';

export interface MaskedJson {
  value: unknown;
  /** Matches per detector, e.g. { aws-access-key: 1 }. */
  counts: Record<string, number>;
  /** JSON paths of blob fields (binary content) the plan could not inspect. */
  unreadable: string[];
}

const BLOB_KEYS = new Set(['blob', 'data']);

/**
 * `value` with every string masked by `plan`, object keys included: a server chooses its keys
 * (structuredContent, _meta) as freely as its values.
 */
export function maskJsonStrings(value: unknown, plan: CompiledPlan): MaskedJson {
  const counts: Record<string, number> = {};
  const unreadable: string[] = [];
  const mask = (text: string): string => {
    const r = plan.maskText(text);
    for (const d of r.fired) counts[d] = (counts[d] ?? 0) + 1;
    return r.text ?? '';
  };
  const walk = (v: unknown, path: string, key: string | null, parent: Record<string, unknown> | null): unknown => {
    if (typeof v === 'string') {
      // MCP carries binary content as base64 in `data` (image, audio) or `blob` (resource contents).
      if (key !== null && BLOB_KEYS.has(key) && parent !== null && (typeof parent['mimeType'] === 'string' || key === 'blob')) {
        unreadable.push(path);
        return v;
      }
      return mask(v);
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, `${path}/${i}`, null, null));
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const entries: [string, unknown][] = [];
      const keys = new Set<string>();
      for (const [k, item] of Object.entries(o)) {
        const masked = mask(k);
        // Two keys masked to one text cannot both be kept, and dropping one would change the
        // result unseen: the object is not released (fail closed).
        if (keys.has(masked)) unreadable.push(path);
        keys.add(masked);
        entries.push([masked, walk(item, `${path}/${escapePointer(k)}`, k, o)]);
      }
      // fromEntries defines own properties: a `__proto__` key stays data.
      return Object.fromEntries(entries);
    }
    return v;
  };
  return { value: walk(value, '', null, null), counts, unreadable };
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
