// Globs and name resolution. An unqualified relation resolves the way PostgreSQL would with
// the default search_path `"$user", public` (pg_catalog is searched implicitly first): it may
// be `<session user>.x` when a schema of that name exists, else `public.x`; names starting
// with `pg_` may also be pg_catalog's. Functions always have pg_catalog as a candidate.
// Temporary tables (pg_temp) are the session's own and are not candidates: creating one is DDL.
import type { NameRef } from './facts.js';
import type { NamePattern } from './types.js';

/** Three-valued match: `maybe` = true for some resolution of an unqualified name and not for others. */
export type Tri = 'yes' | 'no' | 'maybe' | 'unknown';

const globCache = new Map<string, RegExp>();

/** `*` any run of characters, `?` one character; everything else literal. Case-sensitive. */
export function globToRegExp(glob: string): RegExp {
  let re = globCache.get(glob);
  if (!re) {
    const body = glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    re = new RegExp(`^${body}$`, 's');
    globCache.set(glob, re);
  }
  return re;
}

export function globMatch(glob: string, value: string): boolean {
  return glob === '*' || glob === value || globToRegExp(glob).test(value);
}

export function anyGlob(globs: readonly string[], value: string): boolean {
  return globs.some((g) => globMatch(g, value));
}

export interface ResolutionContext {
  searchPathKnown: boolean;
  sessionUser: string | null;
  userSchemaExists: boolean;
}

/** The schemas an unqualified name could resolve to under the default search_path. */
export function candidateSchemas(ref: NameRef, what: 'relation' | 'function', ctx: ResolutionContext): string[] {
  const out: string[] = [];
  if (what === 'function' || ref.name.startsWith('pg_')) out.push('pg_catalog');
  if (ctx.userSchemaExists && ctx.sessionUser) out.push(ctx.sessionUser);
  out.push('public');
  return out;
}

function patternMatches(p: NamePattern, schema: string, name: string): boolean {
  return (p.name === null || globMatch(p.name, name)) && (p.schema === null || globMatch(p.schema, schema));
}

/**
 * Does `ref` match one of `patterns`? `maybe` when an unqualified name matches under some of its
 * candidate schemas only; `unknown` when the answer depends on a search_path we cannot know.
 */
export function refMatches(ref: NameRef, patterns: readonly NamePattern[], what: 'relation' | 'function', ctx: ResolutionContext): Tri {
  if (ref.schema !== null) return patterns.some((p) => patternMatches(p, ref.schema!, ref.name)) ? 'yes' : 'no';
  const byName = patterns.filter((p) => p.name === null || globMatch(p.name, ref.name));
  if (byName.length === 0) return 'no';
  if (byName.some((p) => p.schema === null || p.schema === '*')) return 'yes';
  // Only schema-bound patterns match the name: the answer depends on where the name resolves.
  if (!ctx.searchPathKnown) return 'unknown';
  const candidates = candidateSchemas(ref, what, ctx);
  const hits = candidates.filter((s) => byName.some((p) => patternMatches(p, s, ref.name))).length;
  if (hits === 0) return 'no';
  return hits === candidates.length ? 'yes' : 'maybe';
}

/** Renders a name for reasons: `schema.name`, or `name (unqualified)`. */
export function showRef(ref: NameRef): string {
  return ref.schema === null ? `${ref.name} (unqualified)` : `${ref.schema}.${ref.name}`;
}
