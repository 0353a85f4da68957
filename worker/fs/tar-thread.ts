import type * as Fs from 'node:fs';
import type * as Crypto from 'node:crypto';
import type * as WorkerThreads from 'node:worker_threads';
import {
  type Change,
  diffChangesSource,
  type diffChanges,
  type diffChild,
  type diffSortedNames,
} from './diff-changes.js';
import {
  type encodeTarHeader,
  type TarHeader,
  tarHeaderSource,
  type tarHeaderMaxBytes,
  type tarPadded,
} from './tar-header.js';

/**
 * The tar producer thread's program. Per-file work (lstat, open, read, close, header) with
 * synchronous syscalls on a worker thread, written straight into large output buffers (file bodies
 * read into them), which go to the main thread whole, a bounded number at a time: transferred, or
 * with a ring (produceTarLeased) as slots of shared memory the main thread hands back once used,
 * so that a long archive does not allocate a fresh buffer per chunk (each one an ArrayBuffer for
 * V8's collector to mark, compact and free).
 * On the event loop every file cost promise round trips, thread-pool hops and small buffers, and
 * the main thread was the bottleneck of trees of many small files.
 *
 * The functions below run from their source text (`tarThreadScript`), so the same code works from
 * dist/ and under vitest: they reference nothing but each other, the header functions and globals,
 * and get modules through the `require` they are given.
 */

/** What to archive. */
export type TarJob =
  | { readonly kind: 'dir'; readonly root: string }
  | {
      readonly kind: 'diff';
      readonly parent: string | undefined;
      readonly child: string;
      /** Entries dated later are dated at this (ms), or undefined. */
      readonly clampMs: number | undefined;
    };

export interface TarThreadData {
  readonly job: TarJob;
  /** [credit: output buffers the thread may still post, abort: non-zero once aborted]. */
  readonly control: Int32Array;
  readonly chunkBytes: number;
  /** Whether to send the sha256 of the whole archive at the end. */
  readonly hash: boolean;
  readonly ring: TarThreadRing;
}

/**
 * Output buffers the main thread hands back: `state.length` slots of chunkBytes in `bytes`, taken
 * in ring order. With no slots, each chunk is a buffer of its own, transferred.
 */
export interface TarThreadRing {
  readonly bytes: SharedArrayBuffer;
  /** Per slot: 0 free, 1 in use (being filled, posted, or held by the consumer until released). */
  readonly state: Int32Array;
}

/** Messages from the thread, in order: chunks, then one end or error. */
export type TarThreadMessage =
  | TarChunkMessage
  | { readonly t: 'end'; readonly digest: string | undefined }
  | { readonly t: 'error'; readonly error: TarThreadError };

/** A chunk: its own buffer, transferred, or the first `len` bytes of a ring slot. */
export type TarChunkMessage =
  | { readonly t: 'chunk'; readonly buf: ArrayBuffer; readonly len: number }
  | { readonly t: 'chunk'; readonly slot: number; readonly len: number };

export interface TarThreadError {
  readonly message: string;
  readonly code?: string;
  readonly errno?: number;
  readonly syscall?: string;
  readonly path?: string;
}

export const CONTROL_CREDIT = 0;
export const CONTROL_ABORT = 1;

/**
 * The functions of other modules the thread calls, passed in rather than imported: the functions
 * run from their source text, where module bindings do not exist (and vitest rewrites them).
 */
interface TarLib {
  readonly encodeTarHeader: typeof encodeTarHeader;
  readonly tarHeaderMaxBytes: typeof tarHeaderMaxBytes;
  readonly tarPadded: typeof tarPadded;
  readonly diffChanges: typeof diffChanges;
  readonly diffChild: typeof diffChild;
  readonly diffSortedNames: typeof diffSortedNames;
}

interface Out {
  readonly lib: TarLib;
  readonly fs: typeof Fs;
  readonly port: WorkerThreads.MessagePort;
  readonly control: Int32Array;
  readonly chunkBytes: number;
  readonly hash: Crypto.Hash | undefined;
  readonly ring: TarThreadRing;
  /**
   * The buffer being filled, taken when the first byte is written to it (tarEnsure): a ring slot,
   * or uninitialized (allocUnsafeSlow: its own ArrayBuffer, transferable). Every byte up to `pos`
   * is written (headers, bodies, padding, the end blocks), and zeroed buffers cost a page fault
   * and a clear per 4 KiB of output.
   */
  buf: Buffer;
  pos: number;
  /** The ring slot `buf` is, or -1 for a buffer of its own. */
  slot: number;
  /** The ring slot to take next. */
  next: number;
  /** Set when the main thread aborted: the error thrown then is not reported. */
  aborted: boolean;
  /** The first path written of each multiply-linked inode (`dev:ino`): later ones link to it. */
  readonly inodes: Map<string, string>;
}

function tarThreadMain(req: (id: string) => unknown, lib: TarLib): void {
  const { parentPort, workerData } = req('node:worker_threads') as typeof WorkerThreads;
  const data = workerData as TarThreadData;
  const port = parentPort as WorkerThreads.MessagePort;
  const out: Out = {
    lib,
    fs: req('node:fs') as typeof Fs,
    port,
    control: data.control,
    chunkBytes: data.chunkBytes,
    hash: data.hash ? (req('node:crypto') as typeof Crypto).createHash('sha256') : undefined,
    ring: data.ring,
    buf: Buffer.alloc(0),
    pos: 0,
    slot: -1,
    next: 0,
    aborted: false,
    inodes: new Map(),
  };
  try {
    const job = data.job;
    if (job.kind === 'dir') tarWalkDir(out, job.root, '');
    else {
      const check = () => tarCheckAbort(out);
      tarWriteChanges(out, out.lib.diffChanges(out.fs, check, job.parent, job.child), job.clampMs);
    }
    // End of archive: two zero blocks.
    tarEnsure(out, 1024);
    out.buf.fill(0, out.pos, out.pos + 1024);
    out.pos += 1024;
    tarPost(out);
    port.postMessage({ t: 'end', digest: out.hash ? `sha256:${out.hash.digest('hex')}` : undefined });
  } catch (err) {
    if (out.aborted) return;
    const e = err as NodeJS.ErrnoException;
    const error: { -readonly [K in keyof TarThreadError]: TarThreadError[K] } = {
      message: String(e instanceof Error ? e.message : e),
    };
    if (typeof e.code === 'string') error.code = e.code;
    if (typeof e.errno === 'number') error.errno = e.errno;
    if (typeof e.syscall === 'string') error.syscall = e.syscall;
    if (typeof e.path === 'string') error.path = e.path;
    port.postMessage({ t: 'error', error });
  }
}

function tarCheckAbort(out: Out): void {
  if (Atomics.load(out.control, 1) === 0) return;
  out.aborted = true;
  throw new Error('aborted');
}

/**
 * Room for `n` more bytes in the current buffer, posting it first if needed. A buffer is taken
 * here only, and written to right away: an empty one is none (at the start, or just posted).
 */
function tarEnsure(out: Out, n: number): void {
  if (out.pos + n <= out.buf.length) return;
  if (out.pos > 0) tarPost(out);
  tarTake(out, n);
}

/** Posts the filled part of the buffer once the main thread has credit for it. */
function tarPost(out: Out): void {
  // Index 0 is CONTROL_CREDIT, 1 CONTROL_ABORT (the thread's source cannot refer to the constants).
  const c = out.control;
  for (;;) {
    tarCheckAbort(out);
    if (Atomics.load(c, 0) > 0) break;
    Atomics.wait(c, 0, 0);
  }
  Atomics.sub(c, 0, 1);
  const buf = out.buf;
  if (out.hash) out.hash.update(buf.subarray(0, out.pos));
  if (out.slot >= 0) out.port.postMessage({ t: 'chunk', slot: out.slot, len: out.pos });
  else out.port.postMessage({ t: 'chunk', buf: buf.buffer, len: out.pos }, [buf.buffer as ArrayBuffer]);
  // The posted buffer is the main thread's now: nothing more is written into (or frees) it.
  out.buf = Buffer.alloc(0);
  out.pos = 0;
  out.slot = -1;
}

/**
 * A new buffer for at least `n` bytes: the next ring slot once the main thread has released it
 * (waking now and then to see an abort), or, with no ring or for more than a slot holds (a huge
 * PAX header), a buffer of its own.
 */
function tarTake(out: Out, n: number): void {
  const state = out.ring.state;
  if (state.length === 0 || n > out.chunkBytes) {
    out.buf = Buffer.allocUnsafeSlow(Math.max(n, out.chunkBytes));
    out.slot = -1;
    return;
  }
  const slot = out.next;
  for (;;) {
    tarCheckAbort(out);
    if (Atomics.compareExchange(state, slot, 0, 1) === 0) break;
    Atomics.wait(state, slot, 1, 50);
  }
  out.buf = Buffer.from(out.ring.bytes, slot * out.chunkBytes, out.chunkBytes);
  out.slot = slot;
  out.next = (slot + 1) % state.length;
}

function tarHeader(out: Out, h: TarHeader): void {
  tarEnsure(out, out.lib.tarHeaderMaxBytes(h));
  out.pos += out.lib.encodeTarHeader(out.buf, out.pos, h);
}

/**
 * Header, `size` bytes of `host` read into the output, padding. A file that grew is cut at `size`.
 * A layer's files are opened long after they were listed: one swapped for a symlink meanwhile is
 * not followed (ELOOP), one swapped for a FIFO does not block the thread in open() (it reads as
 * shrunk); O_NONBLOCK does nothing to a regular file.
 */
function tarFile(out: Out, h: TarHeader, host: string): void {
  const fs = out.fs;
  const c = fs.constants;
  const fd = fs.openSync(host, c.O_RDONLY | c.O_NOFOLLOW | c.O_NONBLOCK);
  try {
    tarHeader(out, h);
    let left = h.size;
    while (left > 0) {
      tarEnsure(out, 1);
      const n = fs.readSync(fd, out.buf, out.pos, Math.min(left, out.buf.length - out.pos), null);
      if (n === 0) throw new Error(`${host} shrank while being archived`);
      out.pos += n;
      left -= n;
    }
  } finally {
    fs.closeSync(fd);
  }
  const pad = out.lib.tarPadded(h.size) - h.size;
  if (pad > 0) {
    tarEnsure(out, pad);
    out.buf.fill(0, out.pos, out.pos + pad);
    out.pos += pad;
  }
}

/** ustar type flag of a stat, or -1 for what tar cannot hold (sockets; BuildKit skips them too). */
function tarFlag(st: Fs.BigIntStats): number {
  if (st.isFile()) return 0;
  if (st.isDirectory()) return 5;
  if (st.isSymbolicLink()) return 2;
  if (st.isCharacterDevice()) return 3;
  if (st.isBlockDevice()) return 4;
  if (st.isFIFO()) return 6;
  return -1;
}

function tarEntry(
  st: Fs.BigIntStats,
  name: string,
  flag: number,
  mtimeMs: number,
  size: number,
  linkname: string,
): TarHeader {
  const rdev = flag === 3 || flag === 4 ? Number(st.rdev) : 0;
  return {
    name,
    flag,
    mode: Number(st.mode) & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    size,
    mtimeMs,
    linkname,
    devmajor: (rdev >> 8) & 0xfff,
    devminor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
  };
}

/** A tree as tarDirectory writes it: the walk and the writing in one pass. */
function tarWalkDir(out: Out, hostDir: string, rel: string): void {
  const fs = out.fs;
  for (const name of out.lib.diffSortedNames(fs, hostDir)) {
    tarCheckAbort(out);
    const host = out.lib.diffChild(hostDir, name);
    const relPath = rel === '' ? name : `${rel}/${name}`;
    const st = fs.lstatSync(host, { bigint: true });
    const flag = tarFlag(st);
    if (flag < 0) continue;
    tarAddEntry(out, st, relPath, host, Number(st.mtimeMs), flag === 2 ? fs.readlinkSync(host) : '');
    if (flag === 5) tarWalkDir(out, host, relPath);
  }
}

/**
 * One entry of either kind of archive: a directory's header, a symlink, a device or a FIFO, or a
 * file with its body; a second path of a multiply-linked inode becomes a link entry to the first.
 */
function tarAddEntry(
  out: Out,
  st: Fs.BigIntStats,
  rel: string,
  host: string,
  mtimeMs: number,
  linkname: string,
): void {
  const flag = tarFlag(st);
  const inodes = out.inodes;
  if (flag === 5) {
    tarHeader(out, tarEntry(st, `${rel}/`, 5, mtimeMs, 0, ''));
  } else if (flag === 0) {
    if (st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = inodes.get(key);
      if (first !== undefined) {
        tarHeader(out, tarEntry(st, rel, 1, mtimeMs, 0, first));
        return;
      }
      inodes.set(key, rel);
    }
    tarFile(out, tarEntry(st, rel, 0, mtimeMs, Number(st.size), ''), host);
  } else {
    tarHeader(out, tarEntry(st, rel, flag, mtimeMs, 0, linkname));
  }
}

/** The layer tar of `changes`: whiteouts for deletions, hard links within the layer once. */
function tarWriteChanges(out: Out, changes: readonly Change[], clampMs: number | undefined): void {
  for (const change of changes) {
    tarCheckAbort(out);
    if (change.kind === 'delete') {
      // An OCI/Docker whiteout: `dir/.wh.name` deletes `dir/name` from lower layers.
      const rel = change.rel;
      const slash = rel.lastIndexOf('/');
      const name = slash < 0 ? `.wh.${rel}` : `${rel.slice(0, slash + 1)}.wh.${rel.slice(slash + 1)}`;
      tarHeader(out, {
        name,
        flag: 0,
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: 0,
        mtimeMs: 0,
        linkname: '',
        devmajor: 0,
        devminor: 0,
      });
      continue;
    }
    const { rel, host, st } = change;
    const flag = tarFlag(st);
    if (flag < 0) continue;
    // Whole seconds: the same tree always gives the same bytes, whatever the filesystem's precision.
    let mtimeMs = Number(st.mtimeNs / 1000000000n) * 1000;
    if (clampMs !== undefined && mtimeMs > clampMs) mtimeMs = clampMs;
    tarAddEntry(out, st, rel, host, mtimeMs, flag === 2 ? (change.linkTarget ?? '') : '');
  }
}

/** The thread's script: the header functions, the functions above, then the call. */
export function tarThreadScript(): string {
  return [
    ...tarHeaderSource,
    ...diffChangesSource,
    ...[
      tarThreadMain,
      tarCheckAbort,
      tarEnsure,
      tarPost,
      tarTake,
      tarHeader,
      tarFile,
      tarFlag,
      tarEntry,
      tarWalkDir,
      tarAddEntry,
      tarWriteChanges,
    ].map((f) => f.toString()),
    'tarThreadMain(require, { encodeTarHeader, tarHeaderMaxBytes, tarPadded, diffChanges, diffChild, diffSortedNames });',
  ].join('\n');
}
