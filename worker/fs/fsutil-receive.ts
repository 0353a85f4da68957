import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  type BigIntStats,
  closeSync,
  fchmodSync,
  fchownSync,
  constants as fsConstants,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { CanceledError, KilnError, throwIfAborted } from '../../proto/errors.js';
import { entryHeader, FileDigester, fileDigestHeader } from './content-hash.js';
import { nsToSeconds } from './file-metadata.js';
import {
  type FsStat,
  goModeFromUnix,
  kindOfGoMode,
  type Packet,
  type PacketStream,
  PacketType,
  unixPermFromGoMode,
} from './fsutil-types.js';
import {
  checkRelativePath,
  FileSyncProtocolError,
  FileSyncRemoteError,
  WalkOrderValidator,
} from './fsutil-validator.js';
import { OffThreadWriter } from './fsutil-writer.js';
import { TimeSlice } from './time-slice.js';

/**
 * fsutil's receiver (receive.go + diskwriter.go), written for snapshots that share hardlinked files
 * with older ones: an existing file is never modified in place; changed files are written under a
 * temporary name and renamed over. Every path is validated before it touches the disk and no
 * operation follows a symlink inside the destination.
 */

export interface ReceiveOptions {
  /** Keep destination entries that the sender did not list (local exporter); default deletes them. */
  readonly merge?: boolean;
  /** 'preserve' applies the sender's uid/gid (only effective as root); 'none' leaves files to the current user. */
  readonly ownership?: 'preserve' | 'none';
  /** 'metadata' skips files whose type, mode, size and mtime already match; 'none' re-fetches everything. */
  readonly differ?: 'metadata' | 'none';
  /** Total bytes of file data received so far. */
  readonly onProgress?: (bytes: number) => void;
  /**
   * Collects the content digests (content-hash.ts) of regular files as they are written, so they
   * need not be read back to compute cache keys. Only with ownership 'preserve' as root, where
   * the owner each file gets is the announced one.
   */
  readonly digests?: ReceiveDigests;
  /** Write small new files on a worker thread once a transfer is large enough; default true. */
  readonly offThreadWrites?: boolean;
}

export interface ReceiveDigests {
  /**
   * A regular file's digest; without `merge`, once everything is on disk, also those of the
   * directories whose whole content is known (rel '' is the destination itself).
   */
  set(rel: string, digest: string): void;
  /** For a file kept as it was: its digest in the snapshot the destination started from, if known. */
  previous(rel: string): string | undefined;
}

export interface ReceiveResult {
  /** Bytes of file data that crossed the wire. */
  readonly bytes: number;
  /** Files whose content was requested. */
  readonly filesRequested: number;
  /** Entries removed because the sender no longer has them. */
  readonly removed: number;
}

/** Stats compare equal within this many ns: Node can only set mtimes through a double. */
const MTIME_TOLERANCE_NS = 1000n;

/**
 * Files requested but not yet received, at most. Node's HTTP/2 stops reading its socket while one
 * of its writes is pending; when kilnd and kilnctl (both Node) each had a socket buffer full of
 * unread data (the sender's bulk, the receiver's burst of 20,000 REQs), neither read again and the
 * transfer hung. A bounded window keeps the receiver's side a few KiB; fsutil senders serve REQs in
 * any order and at any time, so the wire protocol is unchanged.
 */
export const MAX_REQUESTS_IN_FLIGHT = 512;

/** Transfers start the writer thread (see OffThreadWriter) at this many requested files. */
const OFF_THREAD_MIN_FILES = 256;
/** Files up to this size go to the writer thread, in one piece. */
const OFF_THREAD_MAX_BYTES = 256 * 1024;

/**
 * Every field is there from the start and cleared by assignment, never `delete`d: a deleted
 * property turns the object into a dictionary, which cost an allocation and slow accesses per file.
 */
interface PendingFile {
  readonly rel: string;
  readonly stat: FsStat;
  /** Nothing was at the target when the stat arrived: the file is created in place (O_EXCL). */
  readonly fresh: boolean;
  fd: number | undefined;
  digester: FileDigester | undefined;
  /** Content held for the writer thread (see OffThreadWriter), with its length. */
  chunks: Uint8Array[] | undefined;
  chunkBytes: number;
  /** Where the bytes go: a temporary name renamed over the target, or the target itself. */
  path: string | undefined;
  tmp: boolean;
}

/**
 * Everything here is synchronous syscalls in time slices (see TimeSlice): a small file costs a
 * handful of syscalls, and awaiting each one through the threadpool made transfers of many small
 * files latency-bound.
 */
export async function receiveDiffCopy(
  stream: PacketStream,
  destDir: string,
  opts: ReceiveOptions,
  signal: AbortSignal,
): Promise<ReceiveResult> {
  const dest = await realpath(destDir);
  const destSt = await lstat(dest);
  if (!destSt.isDirectory())
    throw new KilnError('INVALID_ARGUMENT', `destination ${destDir} is not a directory`);
  const isRoot = process.getuid?.() === 0;
  const chown = opts.ownership === 'preserve' && isRoot;
  const digests = chown ? opts.digests : undefined;
  /** Digests of the files of this transfer, for the hard links to them and the directories. */
  const fileDigests = new Map<string, string>();
  /** The listing, kept to compute directory digests at the end (see treeDigests). */
  const listing: FsStat[] | undefined = digests && !opts.merge ? [] : undefined;
  // What a created file gets without fchown/fchmod, to skip those calls when they would change nothing.
  const euid = process.geteuid?.() ?? -1;
  const egid = process.getegid?.() ?? -1;
  const umask = process.umask();
  /** Directories whose setgid bit hands their group to new entries. */
  const setgidDirs = new Set<string>();
  if (Number(destSt.mode) & 0o2000) setgidDirs.add('');
  const differ = opts.differ ?? 'metadata';
  const slice = new TimeSlice();
  let writer: OffThreadWriter | undefined;

  const validator = new WalkOrderValidator();
  const regularFiles = new Set<string>();
  const pending = new Map<number, PendingFile>();
  const hardlinks: { rel: string; target: string; stat: FsStat }[] = [];
  const dirTimes: { rel: string; modTime: bigint }[] = [];
  let index = 0;
  /** Ids whose REQ waits for the window (see MAX_REQUESTS_IN_FLIGHT), in listing order. */
  const waitingReqs: number[] = [];
  let waitingHead = 0;
  let inFlight = 0;
  let listingDone = false;
  let bytes = 0;
  /** What onProgress was last given: it is told once per batch of packets. */
  let reported = 0;
  let filesRequested = 0;
  let removed = 0;

  // Paths are validated as clean and relative (checkRelativePath), so plain concatenation is
  // path.join without its normalization pass, which showed in profiles at 20,000 files.
  const destPrefix = dest.endsWith('/') ? dest : `${dest}/`;
  const abs = (rel: string) => destPrefix + rel;
  // Directories this transfer created (or found empty): their entries need no lstat, nothing is there.
  const freshDirs = new Set<string>();
  const startedEmpty = readdirSync(dest).length === 0;
  if (startedEmpty) freshDirs.add('');
  /**
   * What the sender listed, to remove the rest; not kept when the destination started empty: then
   * everything in it came from the listing (temporary names are renamed or removed).
   */
  const seen: Set<string> | undefined = opts.merge || startedEmpty ? undefined : new Set<string>();
  const parentOf = (rel: string) => {
    const slash = rel.lastIndexOf('/');
    return slash < 0 ? '' : rel.slice(0, slash);
  };

  /** Returns a REQ to send, if the file's content is needed. */
  const processStat = (stat: FsStat, id: number): boolean | Promise<boolean> => {
    const rel = stat.path;
    const kind = kindOfGoMode(stat.mode);
    validator.check(rel, kind === 'dir');
    seen?.add(rel);
    listing?.push(stat);
    const target = abs(rel);
    const existing = freshDirs.has(parentOf(rel))
      ? undefined
      : lstatSync(target, { bigint: true, throwIfNoEntry: false });

    if (kind === 'dir') {
      if (existing && !existing.isDirectory()) unlinkSync(target);
      if (!existing?.isDirectory()) {
        mkdirSync(target, { mode: 0o700 });
        freshDirs.add(rel);
      }
      // Directories are never shared between snapshots, so fixing one up in place is safe.
      const fd = openSync(target, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW);
      const perm = unixPermFromGoMode(stat.mode);
      try {
        // chown first: it clears setuid/setgid.
        if (chown) fchownSync(fd, stat.uid, stat.gid);
        fchmodSync(fd, perm);
      } finally {
        closeSync(fd);
      }
      if (perm & 0o2000) setgidDirs.add(rel);
      else setgidDirs.delete(rel);
      dirTimes.push({ rel, modTime: stat.modTime });
      return false;
    }

    if (kind === 'file' && stat.linkname !== '') {
      checkRelativePath(stat.linkname, 'hardlink target');
      if (!regularFiles.has(stat.linkname)) {
        throw new FileSyncProtocolError(
          `hardlink ${JSON.stringify(rel)} points to ${JSON.stringify(stat.linkname)}, which was not sent before it`,
          rel,
        );
      }
      hardlinks.push({ rel, target: stat.linkname, stat });
      return false;
    }

    if (kind === 'file') {
      regularFiles.add(rel);
      if (differ === 'metadata' && existing && sameFile(existing, stat, chown)) {
        const d = digests?.previous(rel);
        if (d !== undefined) {
          digests?.set(rel, d);
          fileDigests.set(rel, d);
        }
        return false;
      }
      const f: PendingFile = {
        rel,
        stat,
        fresh: existing === undefined,
        fd: undefined,
        digester: undefined,
        chunks: undefined,
        chunkBytes: 0,
        path: undefined,
        tmp: false,
      };
      pending.set(id, f);
      filesRequested++;
      if (writer === undefined && filesRequested >= OFF_THREAD_MIN_FILES && opts.offThreadWrites !== false) {
        writer = new OffThreadWriter((rel, d) => {
          digests?.set(rel, d);
          fileDigests.set(rel, d);
        });
      }
      return true;
    }

    if (kind === 'symlink') {
      if (existing?.isSymbolicLink()) {
        const current = readlinkOrUndefined(target);
        if (current === stat.linkname && sameOwner(existing, stat, chown)) return false;
      }
      const tmp = tempName(target);
      symlinkSync(stat.linkname, tmp);
      try {
        if (chown) lchownSync(tmp, stat.uid, stat.gid);
        const secs = nsToSeconds(stat.modTime);
        lutimesSync(tmp, secs, secs);
        replaceWith(tmp, target, existing);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
      }
      return false;
    }

    // Devices, fifos: Node cannot mknod, and only root may create devices anyway.
    if (existing) rmSync(target, { recursive: true, force: true });
    return isRoot ? makeNode(target, stat, kind).then(() => false) : false;
  };

  /** The permission bits a file is created with: its own when the umask leaves them, so no fchmod follows. */
  const createMode = (perm: number) => ((perm & 0o7000) === 0 && (perm & umask) === 0 ? perm : 0o600);

  const openPending = (f: PendingFile): number => {
    const target = abs(f.rel);
    const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;
    const perm = unixPermFromGoMode(f.stat.mode);
    const mode = createMode(perm);
    if (digests) f.digester = new FileDigester(perm, f.stat.uid, f.stat.gid, f.stat.size);
    if (f.fresh) {
      // O_EXCL|O_NOFOLLOW: whatever appeared there since the stat is never written through.
      try {
        f.path = target;
        f.tmp = false;
        return (f.fd = openSync(target, flags, mode));
      } catch (err) {
        f.path = undefined;
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    // An existing file may share its inode with an older snapshot: write a new one and rename it over.
    f.path = tempName(target);
    f.tmp = true;
    return (f.fd = openSync(f.path, flags, mode));
  };

  const processData = (id: number, data: Uint8Array) => {
    const f = pending.get(id);
    if (!f) throw new FileSyncProtocolError(`data for unknown or finished file id ${id}`);
    if (
      f.fd === undefined &&
      f.chunks === undefined &&
      writer &&
      f.fresh &&
      f.stat.size <= OFF_THREAD_MAX_BYTES
    ) {
      f.chunks = [];
      f.chunkBytes = 0;
    }
    if (f.chunks && data.byteLength > 0) {
      f.chunks.push(data);
      f.chunkBytes += data.byteLength;
      bytes += data.byteLength;
      // More than announced: write it here after all, as it streams.
      if (f.chunkBytes > OFF_THREAD_MAX_BYTES) {
        const fd = openPending(f);
        for (const c of f.chunks) {
          let off = 0;
          while (off < c.byteLength) off += writeSync(fd, c, off, c.byteLength - off);
          f.digester?.update(c);
        }
        f.chunks = undefined;
      }
      return;
    }
    if (f.chunks && writer) {
      // Empty DATA = end of this file: the writer thread creates it.
      const perm = unixPermFromGoMode(f.stat.mode);
      const created = f.stat.uid === euid && f.stat.gid === egid && !setgidDirs.has(parentOf(f.rel));
      writer.write({
        rel: f.rel,
        path: abs(f.rel),
        data: f.chunks,
        createMode: createMode(perm),
        chmod: createMode(perm) !== perm ? perm : undefined,
        chown: chown && !created ? [f.stat.uid, f.stat.gid] : undefined,
        mtimeSeconds: nsToSeconds(f.stat.modTime),
        digestHeader: digests ? fileDigestHeader(perm, f.stat.uid, f.stat.gid, f.stat.size) : undefined,
        expectedSize: Number(f.stat.size),
      });
      f.chunks = undefined;
      pending.delete(id);
      inFlight--;
      return;
    }
    const fd = f.fd ?? openPending(f);
    if (data.byteLength > 0) {
      let off = 0;
      while (off < data.byteLength) off += writeSync(fd, data, off, data.byteLength - off);
      f.digester?.update(data);
      bytes += data.byteLength;
      return;
    }
    // Empty DATA = end of this file.
    try {
      const perm = unixPermFromGoMode(f.stat.mode);
      // A new file belongs to euid and egid, or to the group of a setgid parent.
      const created = f.stat.uid === euid && f.stat.gid === egid && !setgidDirs.has(parentOf(f.rel));
      if (chown && !created) fchownSync(fd, f.stat.uid, f.stat.gid);
      // fchown clears only setuid/setgid, which a file is never created with (see createMode).
      if (createMode(perm) !== perm) fchmodSync(fd, perm);
      const secs = nsToSeconds(f.stat.modTime);
      futimesSync(fd, secs, secs);
    } finally {
      closeSync(fd);
      f.fd = undefined;
    }
    const digest = f.digester?.digest();
    if (digest !== undefined) {
      digests?.set(f.rel, digest);
      fileDigests.set(f.rel, digest);
    }
    if (f.tmp) {
      const target = abs(f.rel);
      replaceWith(f.path!, target, lstatSync(target, { bigint: true, throwIfNoEntry: false }));
    }
    f.path = undefined;
    pending.delete(id);
    inFlight--;
  };

  const sendRequests = async () => {
    while (inFlight < MAX_REQUESTS_IN_FLIGHT && waitingHead < waitingReqs.length) {
      const id = waitingReqs[waitingHead++]!;
      inFlight++;
      await stream.send({ type: PacketType.Req, id });
    }
    if (waitingHead === waitingReqs.length && waitingHead > 0) {
      waitingReqs.length = 0;
      waitingHead = 0;
    }
  };

  const finish = async () => {
    // Hard links need their targets on disk, directory times come after every write below them.
    await writer?.drain();
    for (const h of hardlinks) {
      const target = abs(h.rel);
      const source = abs(h.target);
      const existing = lstatSync(target, { bigint: true, throwIfNoEntry: false });
      const src = lstatSync(source, { bigint: true });
      const d = fileDigests.get(h.target);
      if (d !== undefined) {
        digests?.set(h.rel, d);
        fileDigests.set(h.rel, d);
      }
      if (existing && existing.ino === src.ino && existing.dev === src.dev) continue;
      const tmp = tempName(target);
      linkSync(source, tmp);
      replaceWith(tmp, target, existing);
      await slice.maybePause();
    }
    if (seen) removed = await removeUnseen(dest, '', seen, slice, signal);
    for (let i = dirTimes.length - 1; i >= 0; i--) {
      const d = dirTimes[i]!;
      const secs = nsToSeconds(d.modTime);
      lutimesSync(abs(d.rel), secs, secs);
      await slice.maybePause();
    }
    if (digests && listing) treeDigests(digests, listing, fileDigests, lstatSync(dest, { bigint: true }));
  };

  // Packets in batches (PacketStream.nextBatch) where the stream offers them: a transfer is tens of
  // thousands of packets, and a wait (promise, microtask) for each one showed in profiles.
  const it = stream.nextBatch ? undefined : stream[Symbol.asyncIterator]();
  const nextBatch =
    stream.nextBatch?.bind(stream) ??
    (async (): Promise<Packet[] | undefined> => {
      const r = await it!.next();
      return r.done ? undefined : [r.value];
    });
  try {
    let finSent = false;
    for (let batch = await nextBatch(); batch !== undefined; batch = await nextBatch()) {
      throwIfAborted(signal);
      for (const p of batch) {
        switch (p.type) {
          case PacketType.Stat:
            if (listingDone) throw new FileSyncProtocolError('stat received after the end of the listing');
            if (p.stat === undefined) {
              listingDone = true;
            } else {
              const id = index++;
              const want = processStat(p.stat, id);
              if (want === true || (want !== false && (await want))) waitingReqs.push(id);
            }
            break;
          case PacketType.Data:
            processData(p.id, p.data);
            break;
          case PacketType.Err:
            throw new FileSyncRemoteError(`error from sender: ${Buffer.from(p.data).toString()}`);
          case PacketType.Fin:
            if (!finSent) throw new FileSyncProtocolError('sender finished before the receiver asked it to');
            break;
          case PacketType.Req:
            throw new FileSyncProtocolError(`unexpected file request ${p.id} from the sender`);
          default:
            break;
        }
        if (!finSent && listingDone && pending.size === 0) {
          await finish();
          await stream.send({ type: PacketType.Fin });
          finSent = true;
        }
        // A batch can hold thousands of packets: let the event loop run every few ms all the same.
        if (slice.due()) {
          await sendRequests();
          await slice.pause();
          throwIfAborted(signal);
        }
      }
      if (bytes !== reported) {
        reported = bytes;
        opts.onProgress?.(bytes);
      }
      // REQs for the batch's stats and for the room its finished files made (MAX_REQUESTS_IN_FLIGHT).
      if (writer?.busy) await writer.backpressure();
      await sendRequests();
      // Queued packets arrive as resolved promises, which never let the event loop run.
      await slice.maybePause();
    }
    throwIfAborted(signal);
    if (!finSent) throw new FileSyncRemoteError('sender closed the stream before the transfer finished');
    // The sender answered FIN and closed its side: now close ours (fsutil drains to EOF, then CloseSend).
    stream.end();
    await writer?.close();
    return { bytes, filesRequested, removed };
  } catch (err) {
    const aborted = signal.aborted;
    // Tell the sender first, then wait for the writer thread: its own failure must not hide
    // this error or keep the call open.
    if (!(err instanceof FileSyncRemoteError) && !aborted) {
      const msg = err instanceof Error ? err.message : String(err);
      await stream.send({ type: PacketType.Err, data: Buffer.from(msg) }).catch(() => {});
    }
    stream.end();
    await writer?.close().catch(() => {});
    await it?.return?.().catch(() => {});
    for (const f of pending.values()) {
      if (f.fd !== undefined) closeSync(f.fd);
      if (f.path !== undefined) rmSync(f.path, { force: true });
    }
    if (aborted) {
      const reason: unknown = signal.reason;
      throw reason instanceof Error ? reason : new CanceledError(`file sync canceled: ${String(reason)}`);
    }
    throw err;
  }
}

/**
 * Directory digests (content-hash.ts's Merkle tree) from the listing of a complete transfer, so
 * that a COPY's cache key needs no walk of the snapshot: the listing comes in walk order (byte-
 * sorted siblings, as the hasher sorts) and says what is on disk now, owners and modes included
 * (digests are only asked for with ownership 'preserve' as root). A directory with an entry whose
 * digest is unknown (a file without one, a device, a symlink off Linux) is left to the hasher.
 */
function treeDigests(
  digests: ReceiveDigests,
  listing: readonly FsStat[],
  files: ReadonlyMap<string, string>,
  rootSt: BigIntStats,
): void {
  interface Open {
    readonly rel: string;
    readonly h: ReturnType<typeof createHash>;
    ok: boolean;
  }
  const header = (stat: FsStat, type: 'dir' | 'symlink') =>
    // Linux gives every symlink permission bits 0777, whatever the sender had.
    entryHeader(
      type,
      type === 'symlink' ? 0o777 : unixPermFromGoMode(stat.mode),
      stat.uid,
      stat.gid,
      0n,
      type === 'symlink' ? stat.linkname : '',
      0n,
    );
  const stack: Open[] = [
    {
      rel: '',
      h: createHash('sha256').update(
        entryHeader('dir', Number(rootSt.mode), rootSt.uid, rootSt.gid, 0n, '', 0n),
      ),
      ok: true,
    },
  ];
  const baseName = (rel: string) => rel.slice(rel.lastIndexOf('/') + 1);
  const close = () => {
    const d = stack.pop()!;
    const digest = d.ok ? `sha256:${d.h.digest('hex')}` : undefined;
    if (digest !== undefined) digests.set(d.rel, digest);
    const parent = stack[stack.length - 1];
    if (!parent) return;
    if (digest === undefined) parent.ok = false;
    else parent.h.update(`${baseName(d.rel)}\0${digest}\0`);
  };
  for (const stat of listing) {
    const rel = stat.path;
    const slash = rel.lastIndexOf('/');
    const parentRel = slash < 0 ? '' : rel.slice(0, slash);
    while (stack.length > 1 && stack[stack.length - 1]!.rel !== parentRel) close();
    const top = stack[stack.length - 1]!;
    const kind = kindOfGoMode(stat.mode);
    if (kind === 'dir') {
      stack.push({ rel, h: createHash('sha256').update(header(stat, 'dir')), ok: true });
      continue;
    }
    let d: string | undefined;
    if (kind === 'file') d = files.get(rel);
    else if (kind === 'symlink' && process.platform === 'linux')
      d = `sha256:${createHash('sha256').update(header(stat, 'symlink')).digest('hex')}`;
    if (d === undefined) top.ok = false;
    else top.h.update(`${baseName(rel)}\0${d}\0`);
  }
  while (stack.length > 0) close();
}

function sameFile(st: BigIntStats, stat: FsStat, chown: boolean): boolean {
  if (!st.isFile()) return false;
  if (goModeFromUnix(Number(st.mode)) !== stat.mode >>> 0) return false;
  if (st.size !== stat.size) return false;
  const d = st.mtimeNs - stat.modTime;
  if (d > MTIME_TOLERANCE_NS || d < -MTIME_TOLERANCE_NS) return false;
  return sameOwner(st, stat, chown);
}

function sameOwner(st: BigIntStats, stat: FsStat, chown: boolean): boolean {
  return !chown || (Number(st.uid) === stat.uid && Number(st.gid) === stat.gid);
}

function readlinkOrUndefined(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}

function tempName(target: string): string {
  return path.join(path.dirname(target), `.kiln-sync-${randomBytes(6).toString('hex')}`);
}

/** rename(2) replaces files and symlinks atomically; a directory in the way is removed first. */
function replaceWith(tmp: string, target: string, existing: BigIntStats | undefined): void {
  if (existing?.isDirectory()) rmSync(target, { recursive: true, force: true });
  renameSync(tmp, target);
}

async function removeUnseen(
  root: string,
  rel: string,
  seen: ReadonlySet<string>,
  slice: TimeSlice,
  signal: AbortSignal,
): Promise<number> {
  let count = 0;
  const dir = rel === '' ? root : path.join(root, rel);
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    throwIfAborted(signal);
    const childRel = rel === '' ? ent.name : `${rel}/${ent.name}`;
    if (!seen.has(childRel)) {
      rmSync(path.join(root, childRel), { recursive: true, force: true });
      count++;
    } else if (ent.isDirectory()) {
      count += await removeUnseen(root, childRel, seen, slice, signal);
    }
    await slice.maybePause();
  }
  return count;
}

const execFileAsync = promisify(execFile);

async function makeNode(target: string, stat: FsStat, kind: string): Promise<void> {
  const perm = (unixPermFromGoMode(stat.mode) & 0o7777).toString(8);
  const args =
    kind === 'fifo'
      ? ['-m', perm, target, 'p']
      : ['-m', perm, target, kind === 'chardev' ? 'c' : 'b', String(stat.devmajor), String(stat.devminor)];
  await execFileAsync('mknod', args);
}
