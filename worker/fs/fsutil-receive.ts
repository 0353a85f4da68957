import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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
import { nsToSeconds } from './file-metadata.js';
import {
  type FsStat,
  goModeFromUnix,
  kindOfGoMode,
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

interface PendingFile {
  readonly rel: string;
  readonly stat: FsStat;
  /** Nothing was at the target when the stat arrived: the file is created in place (O_EXCL). */
  readonly fresh: boolean;
  fd?: number;
  /** Where the bytes go: a temporary name renamed over the target, or the target itself. */
  path?: string;
  tmp?: boolean;
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
  const differ = opts.differ ?? 'metadata';
  const slice = new TimeSlice();

  const validator = new WalkOrderValidator();
  const seen = new Set<string>();
  const regularFiles = new Set<string>();
  const pending = new Map<number, PendingFile>();
  const hardlinks: { rel: string; target: string; stat: FsStat }[] = [];
  const dirTimes: { rel: string; modTime: bigint }[] = [];
  let index = 0;
  let listingDone = false;
  let bytes = 0;
  let filesRequested = 0;
  let removed = 0;

  const abs = (rel: string) => path.join(dest, rel);
  // Directories this transfer created (or found empty): their entries need no lstat, nothing is there.
  const freshDirs = new Set<string>();
  if (readdirSync(dest).length === 0) freshDirs.add('');
  const parentOf = (rel: string) => {
    const slash = rel.lastIndexOf('/');
    return slash < 0 ? '' : rel.slice(0, slash);
  };

  /** Returns a REQ to send, if the file's content is needed. */
  const processStat = async (stat: FsStat, id: number): Promise<boolean> => {
    const rel = stat.path;
    const kind = kindOfGoMode(stat.mode);
    validator.check(rel, kind === 'dir');
    seen.add(rel);
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
      try {
        // chown first: it clears setuid/setgid.
        if (chown) fchownSync(fd, stat.uid, stat.gid);
        fchmodSync(fd, unixPermFromGoMode(stat.mode));
      } finally {
        closeSync(fd);
      }
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
      if (differ === 'metadata' && existing && sameFile(existing, stat, chown)) return false;
      pending.set(id, { rel, stat, fresh: existing === undefined });
      filesRequested++;
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
    if (isRoot) await makeNode(target, stat, kind);
    return false;
  };

  const openPending = (f: PendingFile): number => {
    const target = abs(f.rel);
    const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;
    if (f.fresh) {
      // O_EXCL|O_NOFOLLOW: whatever appeared there since the stat is never written through.
      try {
        f.path = target;
        f.tmp = false;
        return (f.fd = openSync(target, flags, 0o600));
      } catch (err) {
        delete f.path;
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    // An existing file may share its inode with an older snapshot: write a new one and rename it over.
    f.path = tempName(target);
    f.tmp = true;
    return (f.fd = openSync(f.path, flags, 0o600));
  };

  const processData = (id: number, data: Uint8Array) => {
    const f = pending.get(id);
    if (!f) throw new FileSyncProtocolError(`data for unknown or finished file id ${id}`);
    const fd = f.fd ?? openPending(f);
    if (data.byteLength > 0) {
      let off = 0;
      while (off < data.byteLength) off += writeSync(fd, data, off, data.byteLength - off);
      bytes += data.byteLength;
      opts.onProgress?.(bytes);
      return;
    }
    // Empty DATA = end of this file.
    try {
      if (chown) fchownSync(fd, f.stat.uid, f.stat.gid);
      fchmodSync(fd, unixPermFromGoMode(f.stat.mode));
      const secs = nsToSeconds(f.stat.modTime);
      futimesSync(fd, secs, secs);
    } finally {
      closeSync(fd);
      delete f.fd;
    }
    if (f.tmp) {
      const target = abs(f.rel);
      replaceWith(f.path!, target, lstatSync(target, { bigint: true, throwIfNoEntry: false }));
    }
    delete f.path;
    pending.delete(id);
  };

  const finish = async () => {
    for (const h of hardlinks) {
      const target = abs(h.rel);
      const source = abs(h.target);
      const existing = lstatSync(target, { bigint: true, throwIfNoEntry: false });
      const src = lstatSync(source, { bigint: true });
      if (existing && existing.ino === src.ino && existing.dev === src.dev) continue;
      const tmp = tempName(target);
      linkSync(source, tmp);
      replaceWith(tmp, target, existing);
      await slice.maybePause();
    }
    if (!opts.merge) removed = await removeUnseen(dest, '', seen, slice, signal);
    for (let i = dirTimes.length - 1; i >= 0; i--) {
      const d = dirTimes[i]!;
      const secs = nsToSeconds(d.modTime);
      lutimesSync(abs(d.rel), secs, secs);
      await slice.maybePause();
    }
  };

  try {
    let finSent = false;
    for await (const p of stream) {
      throwIfAborted(signal);
      switch (p.type) {
        case PacketType.Stat:
          if (listingDone) throw new FileSyncProtocolError('stat received after the end of the listing');
          if (p.stat === undefined) {
            listingDone = true;
          } else {
            const id = index++;
            if (await processStat(p.stat, id)) await stream.send({ type: PacketType.Req, id });
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
      // Queued packets arrive as resolved promises, which never let the event loop run.
      await slice.maybePause();
    }
    throwIfAborted(signal);
    if (!finSent) throw new FileSyncRemoteError('sender closed the stream before the transfer finished');
    // The sender answered FIN and closed its side: now close ours (fsutil drains to EOF, then CloseSend).
    stream.end();
    return { bytes, filesRequested, removed };
  } catch (err) {
    const aborted = signal.aborted;
    for (const f of pending.values()) {
      if (f.fd !== undefined) closeSync(f.fd);
      if (f.path !== undefined) rmSync(f.path, { force: true });
    }
    if (!(err instanceof FileSyncRemoteError) && !aborted) {
      const msg = err instanceof Error ? err.message : String(err);
      await stream.send({ type: PacketType.Err, data: Buffer.from(msg) }).catch(() => {});
    }
    stream.end();
    if (aborted) {
      const reason: unknown = signal.reason;
      throw reason instanceof Error ? reason : new CanceledError(`file sync canceled: ${String(reason)}`);
    }
    throw err;
  }
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
