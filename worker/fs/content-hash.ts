import { createHash } from 'node:crypto';
import {
  type BigIntStats,
  closeSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
} from 'node:fs';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError } from '../../proto/errors.js';
import { PatternMatcher } from './patternmatcher.js';
import { isErrno, resolveInRoot, rooted } from './root-path.js';
import { TimeSlice } from './time-slice.js';
import { compareNames, resolveWildcards } from './wildcard.js';

/**
 * BuildKit-like content checksums (cache/contenthash): what a COPY reads, independent of mtimes.
 * - file: sha256(header ‖ content); symlink and special files: sha256(header), the link target is in
 *   the header; the header is type, permission/special bits, uid, gid, size, link target, rdev.
 * - directory: sha256(header ‖ for each child in byte order: name NUL digest NUL), i.e. a Merkle tree.
 * Digests are `sha256:<hex>`. They are Kiln's own (cache keys are local), not byte-equal to BuildKit's.
 */
export interface ChecksumOptions {
  /** Follow a symlink in the last component (parents are always resolved, inside root). */
  readonly followLinks?: boolean;
  /** `path` may hold Go filepath.Match wildcards. */
  readonly wildcard?: boolean;
  readonly includePatterns?: readonly string[];
  readonly excludePatterns?: readonly string[];
}

/**
 * Memoized digests, one table per immutable snapshot. A committed snapshot never changes, so an
 * entry stays valid until the snapshot is removed (call drop then).
 */
export class ContentHashCache {
  private readonly bySnapshot = new Map<string, Map<string, string>>();

  memo(snapshotId: string): Map<string, string> {
    let m = this.bySnapshot.get(snapshotId);
    if (!m) {
      m = new Map();
      this.bySnapshot.set(snapshotId, m);
    }
    return m;
  }

  /**
   * Fills a snapshot's table from `entries`: a snapshot without one takes the map itself (the
   * receiver of a large transfer collected it for this), so it must not be changed afterwards.
   */
  adopt(snapshotId: string, entries: Map<string, string>): void {
    const m = this.bySnapshot.get(snapshotId);
    if (m === undefined) this.bySnapshot.set(snapshotId, entries);
    else for (const [k, v] of entries) m.set(k, v);
  }

  /** The table of a snapshot if it has one (unlike memo, never creates it). */
  peek(snapshotId: string): ReadonlyMap<string, string> | undefined {
    return this.bySnapshot.get(snapshotId);
  }

  drop(snapshotId: string): void {
    this.bySnapshot.delete(snapshotId);
  }
}

const EMPTY_DIGEST = `sha256:${createHash('sha256').digest('hex')}`;

/** The content checksum of `p` inside `root`; `memo` (from ContentHashCache) makes repeats cheap. */
export async function checksumPath(
  root: string,
  p: string,
  opts: ChecksumOptions,
  signal: AbortSignal,
  memo?: Map<string, string>,
): Promise<string> {
  const queryKey = `q:${JSON.stringify([rooted(p), opts.followLinks ?? false, opts.wildcard ?? false, opts.includePatterns ?? [], opts.excludePatterns ?? []])}`;
  const cached = memo?.get(queryKey);
  if (cached !== undefined) return cached;
  const hasher = new TreeHasher(path.resolve(root), opts, signal, memo);
  let result: string;
  if (opts.wildcard) {
    const matches = await resolveWildcards(root, p, signal);
    const digests: string[] = [];
    for (const m of matches) digests.push(await hasher.selection(m));
    if (digests.length === 0) result = EMPTY_DIGEST;
    else if (digests.length === 1) result = digests[0] as string;
    else {
      const h = createHash('sha256');
      matches.forEach((m, i) => {
        h.update(`${m}\0${digests[i]}\0`);
      });
      result = `sha256:${h.digest('hex')}`;
    }
  } else {
    result = await hasher.selection(p);
  }
  memo?.set(queryKey, result);
  return result;
}

/** Read size for hashing; small files take one read. */
const READ_CHUNK = 256 * 1024;

/** Synchronous syscalls in time slices (see TimeSlice): per-file threadpool round trips dominated. */
class TreeHasher {
  private readonly slice = new TimeSlice();
  private buf: Buffer | undefined;
  private readonly include: PatternMatcher | undefined;
  private readonly exclude: PatternMatcher | undefined;

  constructor(
    private readonly root: string,
    private readonly opts: ChecksumOptions,
    private readonly signal: AbortSignal,
    private readonly memo: Map<string, string> | undefined,
  ) {
    const inc = opts.includePatterns ?? [];
    const exc = opts.excludePatterns ?? [];
    this.include = inc.length > 0 ? PatternMatcher.create(inc) : undefined;
    this.exclude = exc.length > 0 ? PatternMatcher.create(exc) : undefined;
  }

  async selection(p: string): Promise<string> {
    const r = rooted(p);
    let host: string;
    if (this.opts.followLinks || r === '/') host = await resolveInRoot(this.root, r);
    else host = path.join(await resolveInRoot(this.root, path.posix.dirname(r)), path.posix.basename(r));
    let st: BigIntStats;
    try {
      st = await lstat(host, { bigint: true });
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR'))
        throw new NotFoundError(`"${r}" not found`, { cause: err });
      throw err;
    }
    const digest = await this.entry(host, st, '', this.include === undefined);
    return digest ?? EMPTY_DIGEST;
  }

  /** Digest of one entry, or undefined when include patterns leave nothing of it. */
  private async entry(
    host: string,
    st: BigIntStats,
    rel: string,
    fullyIncluded: boolean,
  ): Promise<string | undefined> {
    this.signal.throwIfAborted();
    const memoKey = `e:${host.slice(this.root.length) || '/'}`;
    const filtered = !fullyIncluded || this.exclude !== undefined;
    // Files do not depend on the filters; directories only when there are none.
    if (!st.isDirectory() || !filtered) {
      const hit = this.memo?.get(memoKey);
      if (hit !== undefined) return hit;
    }
    let digest: string | undefined;
    if (st.isDirectory()) digest = await this.directory(host, st, rel, fullyIncluded);
    else digest = await this.leaf(host, st);
    if (digest !== undefined && (!st.isDirectory() || !filtered)) this.memo?.set(memoKey, digest);
    return digest;
  }

  private async directory(
    host: string,
    st: BigIntStats,
    rel: string,
    fullyIncluded: boolean,
  ): Promise<string | undefined> {
    const h = createHash('sha256');
    h.update(header(st, ''));
    let any = false;
    const names = readdirSync(host).sort(compareNames);
    for (const name of names) {
      if (this.slice.due()) await this.slice.pause();
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const childHost = path.join(host, name);
      const cst = lstatSync(childHost, { bigint: true });
      let childFull = fullyIncluded;
      if (!fullyIncluded && this.include) {
        if (this.include.matches(childRel)) childFull = true;
        else if (!(cst.isDirectory() && this.include.couldMatchUnder(childRel))) continue;
      }
      if (this.isExcluded(childRel, cst.isDirectory())) continue;
      const d = await this.entry(childHost, cst, childRel, childFull);
      if (d === undefined) continue;
      any = true;
      h.update(`${name}\0${d}\0`);
    }
    if (!fullyIncluded && !any && rel !== '') return undefined;
    return `sha256:${h.digest('hex')}`;
  }

  private isExcluded(rel: string, isDir: boolean): boolean {
    const ex = this.exclude;
    if (!ex?.matches(rel)) return false;
    if (isDir && ex.hasExclusions) {
      const dirSlash = `${rel}/`;
      if (ex.patterns.some((p) => p.exclusion && `${p.pattern}/`.startsWith(dirSlash))) return false;
    }
    return true;
  }

  private async leaf(host: string, st: BigIntStats): Promise<string> {
    const h = createHash('sha256');
    if (st.isSymbolicLink()) {
      h.update(header(st, readlinkSync(host)));
    } else if (st.isFile()) {
      h.update(header(st, ''));
      this.buf ??= Buffer.allocUnsafe(READ_CHUNK);
      const fd = openSync(host, 'r');
      try {
        for (;;) {
          const n = readSync(fd, this.buf, 0, READ_CHUNK, null);
          if (n === 0) break;
          h.update(this.buf.subarray(0, n));
          if (this.slice.due()) {
            this.signal.throwIfAborted();
            await this.slice.pause();
          }
        }
      } finally {
        closeSync(fd);
      }
    } else {
      h.update(header(st, ''));
    }
    return `sha256:${h.digest('hex')}`;
  }
}

function header(st: BigIntStats, linkname: string): string {
  const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'special';
  const size = st.isFile() ? st.size : 0n;
  const rdev = st.isBlockDevice() || st.isCharacterDevice() ? st.rdev : 0n;
  return entryHeader(type, Number(st.mode), st.uid, st.gid, size, linkname, rdev);
}

/** The header an entry's digest starts with, from its type and lstat fields (see checksumPath). */
export function entryHeader(
  type: 'dir' | 'symlink' | 'file' | 'special',
  mode: number,
  uid: number | bigint,
  gid: number | bigint,
  size: bigint,
  linkname: string,
  rdev: bigint,
): string {
  return `${type}\0${(mode & 0o7777).toString(8)}\0${uid}\0${gid}\0${size}\0${linkname}\0${rdev}\0`;
}

/** The header a regular file's digest starts with (see FileDigester). */
export function fileDigestHeader(mode: number, uid: number, gid: number, size: bigint): string {
  return entryHeader('file', mode, uid, gid, size, '', 0n);
}

/**
 * Hashes a regular file while it is written, giving the digest checksumPath computes for it
 * afterwards, so a receiver can fill the snapshot's memo (fileMemoKey) instead of having every
 * file read back. The header goes first, so mode (permission bits), owner and size are those the
 * file is announced with; when the bytes that arrive differ in length there is no digest.
 */
export class FileDigester {
  private readonly h = createHash('sha256');
  private size = 0n;

  constructor(
    mode: number,
    uid: number,
    gid: number,
    private readonly expectedSize: bigint,
  ) {
    this.h.update(fileDigestHeader(mode, uid, gid, expectedSize));
  }

  update(data: Uint8Array): void {
    this.h.update(data);
    this.size += BigInt(data.byteLength);
  }

  /** `sha256:<hex>`, or undefined when the size was not the announced one. */
  digest(): string | undefined {
    const d = this.h.digest('hex');
    return this.size === this.expectedSize ? `sha256:${d}` : undefined;
  }
}

/** The memo key (see ContentHashCache) of the entry at `rel` (`/`-separated, relative to the snapshot root). */
export function fileMemoKey(rel: string): string {
  return `e:/${rel}`;
}
