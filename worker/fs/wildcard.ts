import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { cleanPath } from './clean-path.js';
import { filepathMatch } from './filepath-match.js';
import { resolveInRoot } from './root-path.js';

/** Whether a path segment has Go filepath.Match metacharacters (a `\` escapes the next byte). */
export function containsWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}

/** Splits `/a/b/*.txt/c` into the literal prefix `/a/b` and the pattern part `*.txt/c`. */
export function splitWildcards(p: string): { prefix: string; pattern: string } {
  const parts = cleanPath(`/${p}`).split('/').slice(1);
  const i = parts.findIndex(containsWildcards);
  if (i < 0) return { prefix: `/${parts.join('/')}`, pattern: '' };
  return { prefix: `/${parts.slice(0, i).join('/')}`, pattern: parts.slice(i).join('/') };
}

/**
 * The in-root paths (`/`-rooted, sorted) matching `src`, whose segments after the literal prefix are
 * Go filepath.Match patterns (one per level, so `*` never crosses `/`). A path without wildcards is
 * returned as is, existing or not. Matching directories are not descended into; symlinks are
 * matched as entries but never traversed.
 */
export async function resolveWildcards(root: string, src: string, signal: AbortSignal): Promise<string[]> {
  const { prefix, pattern } = splitWildcards(src);
  if (pattern === '') return [prefix];
  const absRoot = path.resolve(root);
  const base = await resolveInRoot(absRoot, prefix);
  const segments = pattern.split('/');
  const out: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    signal.throwIfAborted();
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw err;
    }
    entries.sort((a, b) => compareNames(a.name, b.name));
    const seg = segments[depth] ?? '';
    for (const e of entries) {
      if (!safeMatch(seg, e.name)) continue;
      const full = path.join(dir, e.name);
      if (depth === segments.length - 1) out.push(full);
      else if (e.isDirectory()) await walk(full, depth + 1);
    }
  };
  await walk(base, 0);
  return out.map((p) => `/${path.relative(absRoot, p)}`);
}

function safeMatch(pattern: string, name: string): boolean {
  try {
    return filepathMatch(pattern, name);
  } catch {
    // Go's walk ignores filepath.Match's error: a bad pattern matches nothing.
    return false;
  }
}

/** Byte-wise order, as Go sorts directory entries. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
