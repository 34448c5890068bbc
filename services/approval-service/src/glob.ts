// Group globs as policies write them (libs/policy names.ts, libs/masking column-rules.ts):
// `*` matches any run of characters, `?` exactly one, everything else itself.

const cache = new Map<string, RegExp>();

function globToRegExp(glob: string): RegExp {
  let re = cache.get(glob);
  if (re === undefined) {
    let src = '';
    for (const ch of glob) {
      if (ch === '*') src += '.*';
      else if (ch === '?') src += '.';
      else src += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
    re = new RegExp(`^${src}$`, 's');
    // Globs come from policies (a handful), so the cache stays small.
    if (cache.size < 1000) cache.set(glob, re);
  }
  return re;
}

/** Whether `value` matches `glob`. */
export function globMatch(glob: string, value: string): boolean {
  return glob === '*' || glob === value || globToRegExp(glob).test(value);
}

/** Whether any of `groups` matches `glob`: the holder is a member of the group the glob names. */
export function memberOf(groups: readonly string[], glob: string): boolean {
  return groups.some((g) => globMatch(glob, g));
}

/** Whether any of `groups` matches any of `globs`. */
export function memberOfAny(groups: readonly string[], globs: readonly string[]): boolean {
  return globs.some((glob) => memberOf(groups, glob));
}
