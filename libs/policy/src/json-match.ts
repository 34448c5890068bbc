// JSON pointer conditions, shared by HTTP `json` (the body) and MCP `arguments`: an RFC 6901
// pointer -> a glob on the value there. One reading for both, so a pointer means the same thing
// in either protocol, and so does fail-closed on a document the policy cannot read.
import { globMatch } from './names.js';

/** A document as the policy reads it: parsed (`{ json }`), `unreadable` (not recorded, or not JSON), or null (none). */
export type JsonDocument = { json: unknown } | 'unreadable' | null;

/**
 * Do the pointer conditions hold for `doc`? Each pointer must name a value that its glob matches
 * (a string as is, anything else as its JSON text). No document: no condition matches. An
 * unreadable one is covered by no rule that grants (`permissive`) and matched by every other
 * (fail closed: padding past the audit cap must not slip a request past a deny rule).
 */
export function jsonMatches(conditions: Readonly<Record<string, string>>, doc: JsonDocument, permissive: boolean): boolean {
  if (doc === null) return false;
  if (doc === 'unreadable') return !permissive;
  for (const [pointer, glob] of Object.entries(conditions)) {
    const v = jsonPointer(doc.json, pointer);
    if (v === undefined || !globMatch(glob, typeof v === 'string' ? v : JSON.stringify(v))) return false;
  }
  return true;
}

/** RFC 6901: "" (the whole document) or /-separated tokens, `~` only as `~0` or `~1`. */
export const JSON_POINTER_PATTERN = '^(/([^~]|~[01])*)*$';

/**
 * The value an RFC 6901 pointer names in a JSON document (`""` is the whole document, `~1` is
 * `/`, `~0` is `~`); undefined when there is none. Only own members count: `/__proto__` names a
 * member of that name, never the object's prototype.
 */
export function jsonPointer(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  if (!pointer.startsWith('/')) return undefined;
  let v: unknown = doc;
  for (const token of pointer.slice(1).split('/')) {
    const key = token.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(v)) {
      if (!/^(0|[1-9][0-9]*)$/.test(key) || Number(key) >= v.length) return undefined;
      v = v[Number(key)];
    } else if (v !== null && typeof v === 'object' && Object.hasOwn(v, key)) {
      v = (v as Record<string, unknown>)[key];
    } else return undefined;
  }
  return v;
}
