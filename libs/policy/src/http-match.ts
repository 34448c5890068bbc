// HTTP conditions against one HTTP request (docs/policy.md, "HTTP conditions"). Every condition
// of a rule must hold. Read the conservative way for the rule's action, as the SSH conditions
// are: a name with several values (a repeated query parameter or header) satisfies an allow rule
// when every value matches and another rule when some value does; what the policy cannot read
// (a path or query it cannot decode, a JSON body over the audit cap or not parseable) is covered
// by no allow rule and matched by every other rule that asks about it.
import { jsonMatches } from './json-match.js';
import { globMatch, anyGlob } from './names.js';
import { normalisePath, pathGlob } from './path-glob.js';
import type { HttpCondition, HttpInput } from './types.js';

/** Does `input` satisfy `cond` (null: no HTTP condition) for a rule that grants (`permissive`) or not? */
export function httpMatches(cond: HttpCondition | null, input: HttpInput, permissive: boolean): boolean {
  const c = cond ?? {};
  const quantified = (values: readonly string[], glob: string): boolean =>
    values.length > 0 && (permissive ? values.every((v) => globMatch(glob, v)) : values.some((v) => globMatch(glob, v)));

  if (c.method && !anyGlob(c.method, input.method.toUpperCase())) return false;
  if (c.path) {
    const paths = routedPaths(input.path);
    // A path we cannot place: an allow rule does not cover it, a deny rule does.
    if (paths === null) {
      if (permissive) return false;
    } else {
      const fits = (p: string): boolean => c.path!.some((g) => pathGlob(g).test(p));
      if (permissive ? !paths.every(fits) : !paths.some(fits)) return false;
    }
  }
  if (c.query) {
    const params = queryParams(input.query);
    if (params === null) {
      if (permissive) return false;
    } else {
      for (const [name, glob] of Object.entries(c.query)) {
        const values = params.filter(([n]) => n === name).map(([, v]) => v);
        if (!quantified(values, glob)) return false;
      }
    }
  }
  for (const [name, glob] of Object.entries(c.headers ?? {})) {
    const values = input.headers.filter((h) => h.name.toLowerCase() === name).map((h) => h.value);
    if (!quantified(values, glob)) return false;
  }
  if (c.json && !jsonMatches(c.json, input.body, permissive)) return false;
  return true;
}

/**
 * The paths an upstream may route `raw` to: percent-decoded per segment, `.` and `..` resolved;
 * with `;` matrix parameters stripped as well when there are any (JAX-RS and servlet containers
 * route `/a;x=1/b` as `/a/b`). Null when it cannot be placed: not starting with `/`, malformed
 * percent-encoding, or a segment that decodes to contain `/` or `\` (an encoded separator).
 */
export function routedPaths(raw: string): string[] | null {
  const asIs = decodePath(raw.split('/'));
  if (asIs === null) return null;
  if (!raw.includes(';')) return [asIs];
  const stripped = decodePath(raw.split('/').map((seg) => seg.split(';')[0] ?? ''));
  return stripped === null ? null : [...new Set([asIs, stripped])];
}

function decodePath(segments: readonly string[]): string | null {
  const out: string[] = [];
  for (const seg of segments) {
    const d = decode(seg);
    if (d === null || d.includes('/') || d.includes('\\')) return null;
    out.push(d);
  }
  return normalisePath(out.join('/'));
}

function decode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/**
 * The `name=value` pairs of a query string, each part decoded as forms are (`+` is a space); a
 * part without `=` has the value "". Null when a part's percent-encoding is malformed.
 */
export function queryParams(query: string | null): [string, string][] | null {
  const out: [string, string][] = [];
  for (const part of (query ?? '').split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decode((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, ' '));
    const value = decode(eq < 0 ? '' : part.slice(eq + 1).replace(/\+/g, ' '));
    if (name === null || value === null) return null;
    out.push([name, value]);
  }
  return out;
}
