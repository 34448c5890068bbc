// What an MCP result goes through on its way to the agent: every string in it (text content,
// structured content, embedded resources, prompt messages) through the verdict's detectors.
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

/** `value` with every string masked by `plan`; keys are kept as they are. */
export function maskJsonStrings(value: unknown, plan: CompiledPlan): MaskedJson {
  const counts: Record<string, number> = {};
  const unreadable: string[] = [];
  const walk = (v: unknown, path: string, key: string | null, parent: Record<string, unknown> | null): unknown => {
    if (typeof v === 'string') {
      // MCP carries binary content as base64 in `data` (image, audio) or `blob` (resource contents).
      if (key !== null && BLOB_KEYS.has(key) && parent !== null && (typeof parent['mimeType'] === 'string' || key === 'blob')) {
        unreadable.push(path);
        return v;
      }
      const r = plan.maskText(v);
      for (const d of r.fired) counts[d] = (counts[d] ?? 0) + 1;
      return r.text ?? '';
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, `${path}/${i}`, null, null));
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(o)) out[k] = walk(item, `${path}/${escapePointer(k)}`, k, o);
      return out;
    }
    return v;
  };
  return { value: walk(value, '', null, null), counts, unreadable };
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
