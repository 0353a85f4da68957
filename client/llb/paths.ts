import { posix } from 'node:path';

/** Go's path.Clean: normalized, no trailing slash (except the root), "" → ".". */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/**
 * Resolves `p` against `parent` the way BuildKit's FileOp does; with keepSlash a trailing "/" or
 * "/." of the original survives (COPY's "into this directory" marker).
 */
export function normalizePath(parent: string, p: string, keepSlash: boolean): string {
  let out = cleanPath(p);
  if (!posix.isAbsolute(out)) out = cleanPath(posix.join('/', parent, out));
  if (keepSlash) {
    if (p.endsWith('/') && !out.endsWith('/')) out += '/';
    else if (p.endsWith('/.')) {
      if (out !== '/') out += '/';
      out += '.';
    }
  }
  return out;
}
