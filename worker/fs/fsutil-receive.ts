import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type BigIntStats, constants as fsConstants } from 'node:fs';
import {
  type FileHandle,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  open,
  readdir,
  readlink,
  realpath,
  rename,
  rm,
  symlink,
  unlink,
} from 'node:fs/promises';
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
  fh?: FileHandle;
  tmp?: string;
}

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

  const processStat = async (stat: FsStat, id: number) => {
    const rel = stat.path;
    const kind = kindOfGoMode(stat.mode);
    validator.check(rel, kind === 'dir');
    seen.add(rel);
    const target = abs(rel);
    const existing = await lstatOrUndefined(target);

    if (kind === 'dir') {
      if (existing && !existing.isDirectory()) await unlink(target);
      if (!existing?.isDirectory()) await mkdir(target, { mode: 0o700 });
      // Directories are never shared between snapshots, so fixing one up in place is safe.
      const fh = await open(target, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW);
      try {
        // chown first: it clears setuid/setgid.
        if (chown) await fh.chown(stat.uid, stat.gid);
        await fh.chmod(unixPermFromGoMode(stat.mode));
      } finally {
        await fh.close();
      }
      dirTimes.push({ rel, modTime: stat.modTime });
      return;
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
      return;
    }

    if (kind === 'file') {
      regularFiles.add(rel);
      if (differ === 'metadata' && existing && sameFile(existing, stat, chown)) return;
      pending.set(id, { rel, stat });
      filesRequested++;
      await stream.send({ type: PacketType.Req, id });
      return;
    }

    if (kind === 'symlink') {
      if (existing?.isSymbolicLink()) {
        const current = await readlinkOrUndefined(target);
        if (current === stat.linkname && sameOwner(existing, stat, chown)) return;
      }
      const tmp = tempName(target);
      await symlink(stat.linkname, tmp);
      try {
        if (chown) await lchown(tmp, stat.uid, stat.gid);
        const secs = nsToSeconds(stat.modTime);
        await lutimes(tmp, secs, secs);
        await replaceWith(tmp, target, existing);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
      return;
    }

    // Devices, fifos: Node cannot mknod, and only root may create devices anyway.
    if (existing) {
      await rm(target, { recursive: true, force: true });
    }
    if (isRoot) await makeNode(target, stat, kind);
  };

  const processData = async (id: number, data: Uint8Array) => {
    const f = pending.get(id);
    if (!f) throw new FileSyncProtocolError(`data for unknown or finished file id ${id}`);
    if (!f.fh) {
      f.tmp = tempName(abs(f.rel));
      f.fh = await open(
        f.tmp,
        fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW,
        0o600,
      );
    }
    if (data.byteLength > 0) {
      await f.fh.write(data);
      bytes += data.byteLength;
      opts.onProgress?.(bytes);
      return;
    }
    // Empty DATA = end of this file.
    const fh = f.fh;
    const tmp = f.tmp!;
    try {
      if (chown) await fh.chown(f.stat.uid, f.stat.gid);
      await fh.chmod(unixPermFromGoMode(f.stat.mode));
      const secs = nsToSeconds(f.stat.modTime);
      await fh.utimes(secs, secs);
    } finally {
      await fh.close();
      delete f.fh;
    }
    const target = abs(f.rel);
    await replaceWith(tmp, target, await lstatOrUndefined(target));
    delete f.tmp;
    pending.delete(id);
  };

  const finish = async () => {
    for (const h of hardlinks) {
      const target = abs(h.rel);
      const source = abs(h.target);
      const [existing, src] = await Promise.all([lstatOrUndefined(target), lstat(source, { bigint: true })]);
      if (existing && existing.ino === src.ino && existing.dev === src.dev) continue;
      const tmp = tempName(target);
      await link(source, tmp);
      await replaceWith(tmp, target, existing);
    }
    if (!opts.merge) removed = await removeUnseen(dest, '', seen, signal);
    for (let i = dirTimes.length - 1; i >= 0; i--) {
      const d = dirTimes[i]!;
      const secs = nsToSeconds(d.modTime);
      await lutimes(abs(d.rel), secs, secs);
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
            await processStat(p.stat, id);
          }
          break;
        case PacketType.Data:
          await processData(p.id, p.data);
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
    }
    throwIfAborted(signal);
    if (!finSent) throw new FileSyncRemoteError('sender closed the stream before the transfer finished');
    // The sender answered FIN and closed its side: now close ours (fsutil drains to EOF, then CloseSend).
    stream.end();
    return { bytes, filesRequested, removed };
  } catch (err) {
    const aborted = signal.aborted;
    for (const f of pending.values()) {
      if (f.fh) await f.fh.close().catch(() => {});
      if (f.tmp) await rm(f.tmp, { force: true }).catch(() => {});
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

async function lstatOrUndefined(p: string): Promise<BigIntStats | undefined> {
  try {
    return await lstat(p, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function readlinkOrUndefined(p: string): Promise<string | undefined> {
  return readlink(p).catch(() => undefined);
}

function tempName(target: string): string {
  return path.join(path.dirname(target), `.kiln-sync-${randomBytes(6).toString('hex')}`);
}

/** rename(2) replaces files and symlinks atomically; a directory in the way is removed first. */
async function replaceWith(tmp: string, target: string, existing: BigIntStats | undefined): Promise<void> {
  if (existing?.isDirectory()) await rm(target, { recursive: true, force: true });
  await rename(tmp, target);
}

async function removeUnseen(
  root: string,
  rel: string,
  seen: ReadonlySet<string>,
  signal: AbortSignal,
): Promise<number> {
  let count = 0;
  const dir = rel === '' ? root : path.join(root, rel);
  for (const name of await readdir(dir)) {
    throwIfAborted(signal);
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const child = path.join(root, childRel);
    if (!seen.has(childRel)) {
      await rm(child, { recursive: true, force: true });
      count++;
      continue;
    }
    const st = await lstat(child);
    if (st.isDirectory()) count += await removeUnseen(root, childRel, seen, signal);
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
