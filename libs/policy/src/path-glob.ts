// Path globs and path normalisation, shared by the SSH (SFTP) and HTTP path conditions.

const pathGlobs = new Map<string, RegExp>();

/** `*` and `?` stay within a path segment, `**` crosses segments; `/dir/**` matches `/dir` too. */
export function pathGlob(glob: string): RegExp {
  let re = pathGlobs.get(glob);
  if (!re) {
    const under = glob.endsWith('/**');
    const body = (under ? glob.slice(0, -3) : glob)
      .split('**')
      .map((part) =>
        part
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]'),
      )
      .join('.*');
    re = new RegExp(`^${body}${under ? '(/.*)?' : ''}$`, 's');
    pathGlobs.set(glob, re);
  }
  return re;
}

/**
 * The path with `.` and `..` resolved (and empty segments dropped); null for a relative path
 * (relative to a directory the policy does not know).
 */
export function normalisePath(path: string): string | null {
  if (!path.startsWith('/')) return null;
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return `/${out.join('/')}`;
}
