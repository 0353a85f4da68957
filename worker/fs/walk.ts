import { type BigIntStats, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError } from '../../proto/errors.js';
import { type FsStat, GoMode, goModeFromUnix } from './fsutil-types.js';
import { PatternMatcher } from './patternmatcher.js';

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

/**
 * Byte-wise comparison of UTF-8 names, as Go sorts directory entries. UTF-16 code unit order is
 * UTF-8 byte order except where a surrogate is involved: only then are the bytes compared.
 */
export function compareNames(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if ((x & 0xf800) === 0xd800 || (y & 0xf800) === 0xd800) return compareUtf8(a, b);
    return x - y;
  }
  // A trailing lone high surrogate encodes as U+FFFD: not necessarily a prefix in bytes.
  if (n > 0 && a.length !== b.length && (a.charCodeAt(n - 1) & 0xfc00) === 0xd800) return compareUtf8(a, b);
  return a.length - b.length;
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Nanosecond mtimes need the bigint stats; a vanished entry is skipped, not an error. */
const LSTAT_OPTIONS = { bigint: true, throwIfNoEntry: false } as const;

interface Frame {
  readonly rel: string;
  readonly abs: string;
  /** Undefined for the root, which is not an entry of its own. */
  readonly st: BigIntStats | undefined;
  emitted: boolean;
  /** Sorted names, read when the walk first steps into the directory. */
  names: string[] | undefined;
  next: number;
}

/**
 * A resumable, synchronous walk: each next() does the few syscalls one entry needs, so a caller
 * can interleave the walk with other work in its own time slices (one threadpool round trip per
 * entry made walks latency-bound; an async generator per directory level cost more than the lstat).
 */
export class Walker {
  private readonly seenInodes = new Map<string, string>();
  /** The root, then each directory being walked; ancestors not emitted yet are sent before a child. */
  private readonly frames: Frame[];
  /** Entries found by the last step and not returned yet (a matching child's unemitted ancestors). */
  private readonly ready: WalkEntry[] = [];
  private readyHead = 0;

  private constructor(
    root: string,
    private readonly include: PatternMatcher | undefined,
    private readonly exclude: PatternMatcher | undefined,
  ) {
    this.frames = [{ rel: '', abs: root, st: undefined, emitted: true, names: undefined, next: 0 }];
  }

  /** Resolves the root and the followpaths; fails for a root that is missing or not a directory. */
  static async open(dir: string, opts: WalkOptions): Promise<Walker> {
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
    return new Walker(root, include, exclude);
  }

  /** The next entry in walk order, undefined at the end. Throws what the filesystem throws. */
  next(): WalkEntry | undefined {
    for (;;) {
      if (this.readyHead < this.ready.length) {
        const e = this.ready[this.readyHead++]!;
        if (this.readyHead === this.ready.length) {
          this.ready.length = 0;
          this.readyHead = 0;
        }
        return e;
      }
      const frame = this.frames[this.frames.length - 1];
      if (frame === undefined) return undefined;
      frame.names ??= sortedNames(frame.abs);
      if (frame.next >= frame.names.length) {
        this.frames.pop();
        continue;
      }
      this.step(frame, frame.names[frame.next++]!);
    }
  }

  private step(parent: Frame, name: string): void {
    const rel = parent.rel === '' ? name : `${parent.rel}/${name}`;
    // Names from readdir hold no `/`: concatenation is path.join without its normalization pass.
    const abs = parent.abs === '/' ? `/${name}` : `${parent.abs}/${name}`;
    // Removed while walking: the sender describes what it saw.
    const st = lstatSync(abs, LSTAT_OPTIONS);
    if (st === undefined) return;
    const isDir = st.isDirectory();
    let emit = true;
    let descend = isDir;
    const include = this.include;
    if (include && !include.matches(rel)) {
      emit = false;
      descend = isDir && include.couldMatchUnder(rel);
    }
    const exclude = this.exclude;
    if (emit && exclude?.matches(rel)) {
      emit = false;
      descend = isDir && exclude.hasExclusions;
    }
    if (emit) {
      for (const f of this.frames) {
        if (!f.emitted) {
          f.emitted = true;
          this.ready.push({ stat: makeStat(f.rel, f.abs, f.st!, this.seenInodes), absPath: f.abs });
        }
      }
      this.ready.push({ stat: makeStat(rel, abs, st, this.seenInodes), absPath: abs });
    }
    if (descend) this.frames.push({ rel, abs, st, emitted: emit, names: undefined, next: 0 });
  }
}

function sortedNames(abs: string): string[] {
  const names = readdirSync(abs);
  // Code unit order is byte order unless a name holds a surrogate or a character from U+E000 up.
  return names.some(hasHighChar) ? names.sort(compareNames) : names.sort();
}

const HIGH_CHAR = /[\ud800-\uffff]/;

function hasHighChar(name: string): boolean {
  return HIGH_CHAR.test(name);
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
