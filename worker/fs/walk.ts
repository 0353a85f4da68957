import { type BigIntStats, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, throwIfAborted } from '../../proto/errors.js';
import { type FsStat, GoMode, goModeFromUnix } from './fsutil-types.js';
import { PatternMatcher } from './patternmatcher.js';
import { TimeSlice } from './time-slice.js';

/**
 * The file-sync sender's walk (fsutil walker.go + followlinks.go): depth-first pre-order with
 * byte-sorted siblings, include/exclude patterns, lazily emitted parents, hardlink detection.
 */

export interface WalkOptions {
  readonly includePatterns?: readonly string[];
  readonly excludePatterns?: readonly string[];
  /** Paths resolved through symlinks inside the root; the links and their targets become includes. */
  readonly followPaths?: readonly string[];
}

export interface WalkEntry {
  /** Stat as it goes on the wire (path relative, `/`-separated). */
  readonly stat: FsStat;
  /** Absolute path on disk. */
  readonly absPath: string;
}

/** Byte-wise comparison of UTF-8 names, as Go sorts directory entries. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

interface PendingDir {
  readonly rel: string;
  readonly abs: string;
  readonly st: BigIntStats;
  emitted: boolean;
}

export async function* walkDir(
  dir: string,
  opts: WalkOptions,
  signal: AbortSignal,
): AsyncGenerator<WalkEntry> {
  const root = await realpath(dir).catch((err: unknown) => {
    throw new InvalidArgumentError(`failed to resolve ${dir}: ${(err as Error).message}`, { cause: err });
  });
  const rootSt = await lstat(root, { bigint: true });
  if (!rootSt.isDirectory()) throw new InvalidArgumentError(`${dir} is not a directory`);

  let includes = [...(opts.includePatterns ?? [])];
  if (opts.followPaths && opts.followPaths.length > 0) {
    const followed = await followLinks(root, opts.followPaths);
    includes = dedupSorted([...includes, ...followed]);
  }
  const include = includes.length > 0 ? PatternMatcher.create(includes) : undefined;
  const exclude =
    opts.excludePatterns && opts.excludePatterns.length > 0
      ? PatternMatcher.create(opts.excludePatterns)
      : undefined;

  const seenInodes = new Map<string, string>();
  // Ancestors not yet emitted because they themselves did not match; sent just before a child.
  const stack: PendingDir[] = [];

  // Synchronous syscalls in time slices: one threadpool round trip per entry made walks latency-bound.
  const slice = new TimeSlice();

  async function* visit(rel: string, abs: string): AsyncGenerator<WalkEntry> {
    const names = readdirSync(abs);
    names.sort(compareNames);
    for (const name of names) {
      throwIfAborted(signal);
      if (slice.due()) await slice.pause();
      const childRel = rel === '' ? name : `${rel}/${name}`;
      // Names from readdir hold no `/`: concatenation is path.join without its normalization pass.
      const childAbs = abs === '/' ? `/${name}` : `${abs}/${name}`;
      // Removed while walking: the sender describes what it saw.
      const st = lstatSync(childAbs, { bigint: true, throwIfNoEntry: false });
      if (st === undefined) continue;
      const isDir = st.isDirectory();
      let emit = true;
      let descend = isDir;
      if (include && !include.matches(childRel)) {
        emit = false;
        descend = isDir && include.couldMatchUnder(childRel);
      }
      if (emit && exclude?.matches(childRel)) {
        emit = false;
        descend = isDir && exclude.hasExclusions;
      }
      if (emit) {
        for (const p of stack) {
          if (!p.emitted) {
            p.emitted = true;
            yield { stat: makeStat(p.rel, p.abs, p.st, seenInodes), absPath: p.abs };
          }
        }
        yield { stat: makeStat(childRel, childAbs, st, seenInodes), absPath: childAbs };
      }
      if (descend) {
        stack.push({ rel: childRel, abs: childAbs, st, emitted: emit });
        try {
          yield* visit(childRel, childAbs);
        } finally {
          stack.pop();
        }
      }
    }
  }

  yield* visit('', root);
}

function makeStat(rel: string, abs: string, st: BigIntStats, seen: Map<string, string>): FsStat {
  const mode = goModeFromUnix(Number(st.mode));
  const stat: FsStat = {
    path: rel,
    mode,
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: st.isDirectory() ? 0n : st.size,
    modTime: st.mtimeNs,
    linkname: '',
    devmajor: 0n,
    devminor: 0n,
    xattrs: new Map(),
  };
  if (st.isSymbolicLink()) stat.linkname = readlinkSync(abs);
  if (mode & GoMode.Device) {
    const rdev = st.rdev;
    stat.devmajor = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
    stat.devminor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  }
  if (!st.isDirectory() && st.nlink > 1n) {
    const key = `${st.dev}:${st.ino}`;
    const first = seen.get(key);
    if (first !== undefined) {
      stat.linkname = first;
      stat.size = 0n;
    } else {
      seen.set(key, rel);
    }
  }
  return stat;
}

function dedupSorted(items: readonly string[]): string[] {
  return [...new Set(items)].sort(compareNames);
}

/**
 * Resolves each path through the symlinks it crosses inside the root, returning every link path
 * met and the final target (fsutil FollowLinks). Targets are kept inside the root.
 */
export async function followLinks(root: string, paths: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const p of paths) {
    await follow(root, p, out, 0);
  }
  return [...out].sort(compareNames);
}

const MAX_LINK_HOPS = 255;

async function follow(root: string, p: string, out: Set<string>, hops: number): Promise<void> {
  const clean = cleanRel(p);
  if (clean === '') return;
  out.add(clean);
  if (hops > MAX_LINK_HOPS) return;
  const parts = clean.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    let target: string;
    try {
      const st = await lstat(path.join(root, prefix));
      if (!st.isSymbolicLink()) continue;
      target = await readlink(path.join(root, prefix));
    } catch {
      return;
    }
    out.add(prefix);
    const parentDir = parts.slice(0, i - 1).join('/');
    const resolved = target.startsWith('/') ? target : `${parentDir}/${target}`;
    const rest = parts.slice(i).join('/');
    await follow(root, rest === '' ? resolved : `${resolved}/${rest}`, out, hops + 1);
    return;
  }
}

/** Cleans a path relative to the root; `..` cannot climb above it (like a chroot). */
function cleanRel(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return parts.join('/');
}
