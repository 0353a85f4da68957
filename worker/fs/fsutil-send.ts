import { closeSync, openSync, readSync } from 'node:fs';
import { CanceledError, throwIfAborted } from '../../proto/errors.js';
import { type FsStat, fileCanRequestData, type PacketStream, PacketType } from './fsutil-types.js';
import { FileSyncProtocolError, FileSyncRemoteError } from './fsutil-validator.js';
import { TimeSlice } from './time-slice.js';
import { type WalkOptions, walkDir } from './walk.js';

/**
 * fsutil's sender: 32 KiB DATA chunks. Files are read with synchronous syscalls in time slices by a
 * single reader (see TimeSlice): for small files the threadpool round trips, not the disk, were the cost.
 */
const CHUNK_SIZE = 32 * 1024;

export interface SendOptions extends WalkOptions {
  /** Rewrites (or drops, by returning undefined) each stat before it is sent; buildctl zeroes uid/gid. */
  readonly mapStat?: (stat: FsStat) => FsStat | undefined;
  /** Total bytes of file data sent so far. */
  readonly onProgress?: (bytes: number) => void;
}

/**
 * Sends `root` over a DiffCopy packet stream: the listing, then the bytes of each requested file,
 * then the FIN handshake. Resolves when the receiver has acknowledged everything.
 */
export async function sendDiffCopy(
  stream: PacketStream,
  root: string,
  opts: SendOptions,
  signal: AbortSignal,
): Promise<void> {
  const inner = new AbortController();
  const onAbort = () => inner.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const files = new Map<number, { abs: string; size: number }>();
  const queue: { id: number; abs: string; size: number }[] = [];
  const waiters: (() => void)[] = [];
  let recvDone = false;
  let bytes = 0;

  const fail = (err: unknown): never => {
    if (!inner.signal.aborted) inner.abort(err);
    throw err;
  };

  const walkTask = async () => {
    try {
      let i = 0;
      for await (const entry of walkDir(root, opts, inner.signal)) {
        const stat = opts.mapStat ? opts.mapStat(entry.stat) : entry.stat;
        if (stat === undefined) continue;
        if (fileCanRequestData(stat.mode)) files.set(i, { abs: entry.absPath, size: Number(stat.size) });
        i++;
        await stream.send({ type: PacketType.Stat, stat });
      }
      await stream.send({ type: PacketType.Stat, stat: undefined });
    } catch (err) {
      if (!inner.signal.aborted) {
        await stream
          .send({ type: PacketType.Err, data: Buffer.from(err instanceof Error ? err.message : String(err)) })
          .catch(() => {});
      }
      fail(err);
    }
  };

  const slice = new TimeSlice();
  const scratch = Buffer.allocUnsafe(CHUNK_SIZE);

  const sendFile = async (id: number, abs: string, size: number) => {
    // A file that vanished or cannot be opened is sent as empty, as fsutil does.
    let fd: number | undefined;
    try {
      fd = openSync(abs, 'r');
    } catch {
      fd = undefined;
    }
    if (fd !== undefined) {
      try {
        let sent = 0;
        for (;;) {
          throwIfAborted(inner.signal);
          const n = readSync(fd, scratch, 0, CHUNK_SIZE, null);
          if (n === 0) break;
          // No copy: send() encodes the packet before it returns (see PacketStream).
          await stream.send({ type: PacketType.Data, id, data: scratch.subarray(0, n) });
          sent += n;
          bytes += n;
          opts.onProgress?.(bytes);
          await slice.maybePause();
          // A short read at the size the walk saw is the end: skip the read that would return 0.
          if (n < CHUNK_SIZE && sent === size) break;
        }
      } finally {
        closeSync(fd);
      }
    }
    await stream.send({ type: PacketType.Data, id, data: new Uint8Array(0) });
    await slice.maybePause();
  };

  const fileWorker = async () => {
    try {
      for (;;) {
        const next = queue.shift();
        if (next) {
          await sendFile(next.id, next.abs, next.size);
          continue;
        }
        if (recvDone || inner.signal.aborted) return;
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
        });
      }
    } catch (err) {
      fail(err);
    }
  };

  const wakeAll = () => {
    for (const w of waiters.splice(0)) w();
  };

  const recvTask = async () => {
    try {
      for await (const p of stream) {
        throwIfAborted(inner.signal);
        switch (p.type) {
          case PacketType.Err:
            throw new FileSyncRemoteError(`error from receiver: ${Buffer.from(p.data).toString()}`);
          case PacketType.Req: {
            const file = files.get(p.id);
            if (file === undefined) throw new FileSyncProtocolError(`invalid file id ${p.id}`);
            files.delete(p.id);
            queue.push({ id: p.id, ...file });
            wakeAll();
            break;
          }
          case PacketType.Fin:
            // The receiver has everything; it may already be gone, so a failed reply is not an error.
            await stream.send({ type: PacketType.Fin }).catch(() => {});
            stream.end();
            return;
          default:
            break;
        }
      }
      throwIfAborted(inner.signal);
      throw new FileSyncRemoteError('receiver closed the stream before the transfer finished');
    } catch (err) {
      fail(err);
    } finally {
      recvDone = true;
      wakeAll();
    }
  };

  inner.signal.addEventListener('abort', wakeAll, { once: true });
  try {
    const results = await Promise.allSettled([walkTask(), recvTask(), fileWorker()]);
    if (inner.signal.aborted) {
      const reason: unknown = inner.signal.reason;
      throw reason instanceof Error ? reason : new CanceledError(`file sync canceled: ${String(reason)}`);
    }
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
