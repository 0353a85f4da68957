import type { BigIntStats } from 'node:fs';
import { close, createReadStream, open, read } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { Header, Pack } from 'tar-stream';
import tar from 'tar-stream';
import { compareNames } from './wildcard.js';

type HeaderArg = Partial<Header> & Pick<Header, 'name'>;
type Sink = ReturnType<Pack['entry']>;

/**
 * Streams `dir` as a deterministic tar: entries in byte order of their paths (parents first),
 * names relative without `./`, directories with a trailing `/`, owner ids, permission and special
 * bits, mtimes (whole seconds), symlinks, and hard links (the second path of an inode is a link
 * entry to the first). tar-stream writes PAX headers for what ustar cannot hold (long names).
 * The producer waits for the consumer: nothing is read ahead beyond the stream's buffer.
 */
export async function* tarDirectory(dir: string, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  signal.throwIfAborted();
  const pack = tar.pack();
  const onAbort = () =>
    pack.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
  signal.addEventListener('abort', onAbort, { once: true });
  const producer = writeTree(pack, path.resolve(dir), signal).then(
    () => pack.finalize(),
    (err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))),
  );
  try {
    for await (const chunk of pack) yield chunk as Uint8Array;
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (!pack.destroyed) pack.destroy();
    await producer;
  }
}

/** How many entries of a directory are stat'ed (and small files read) ahead of the one written. */
const ReadAheadEntries = 16;

interface Prefetched {
  readonly st: BigIntStats;
  /** A small file's bytes (up to one past its size, so growth shows). */
  readonly body?: Promise<Buffer>;
}

/**
 * lstat and small-file reads for the next entries of a directory while earlier ones are written:
 * one at a time, each file cost several thread-pool round trips spent idle (lstat, open, read,
 * close), which dominated trees of many small files. Failures surface when the entry is taken.
 */
class DirReadAhead {
  private readonly started = new Map<number, Promise<Prefetched>>();
  private next = 0;

  constructor(
    private readonly dir: string,
    private readonly names: readonly string[],
    private readonly signal: AbortSignal,
  ) {}

  take(index: number): Promise<Prefetched> {
    for (; this.next < this.names.length && this.next <= index + ReadAheadEntries; this.next++) {
      const p = this.fetch(path.join(this.dir, this.names[this.next] as string));
      // Handled here so an abandoned prefetch cannot become an unhandled rejection.
      p.catch(() => undefined);
      this.started.set(this.next, p);
    }
    const p = this.started.get(index) as Promise<Prefetched>;
    this.started.delete(index);
    return p;
  }

  private async fetch(host: string): Promise<Prefetched> {
    const st = await lstat(host, { bigint: true });
    if (!st.isFile() || st.size > BigInt(WholeFileBytes)) return { st };
    const body = readSmallFile(host, Number(st.size), this.signal);
    body.catch(() => undefined);
    return { st, body };
  }
}

async function writeTree(pack: Pack, root: string, signal: AbortSignal): Promise<void> {
  const inodes = new Map<string, string>();
  const visit = async (hostDir: string, rel: string): Promise<void> => {
    const names = (await readdir(hostDir)).sort(compareNames);
    const ahead = new DirReadAhead(hostDir, names, signal);
    for (const [i, name] of names.entries()) {
      signal.throwIfAborted();
      if (pack.destroyed) return;
      const host = path.join(hostDir, name);
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const { st, body } = await ahead.take(i);
      const base = baseHeader(st);
      if (st.isDirectory()) {
        await addEntry(pack, { ...base, name: `${relPath}/`, type: 'directory' });
        await visit(host, relPath);
      } else if (st.isSymbolicLink()) {
        await addEntry(pack, { ...base, name: relPath, type: 'symlink', linkname: await readlink(host) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1n ? inodes.get(key) : undefined;
        if (first !== undefined) {
          await addEntry(pack, { ...base, name: relPath, type: 'link', linkname: first });
          continue;
        }
        if (st.nlink > 1n) inodes.set(key, relPath);
        const header = { ...base, name: relPath, type: 'file' as const, size: Number(st.size) };
        if (body) {
          const buf = await body;
          if (buf.length < header.size) throw new Error(`${host} shrank while being archived`);
          // The header promised st.size bytes; a file that grew meanwhile is cut to keep the archive valid.
          await addEntry(pack, header, buf.length > header.size ? buf.subarray(0, header.size) : buf);
        } else {
          await addFile(pack, header, host, signal);
        }
      } else {
        const type = st.isFIFO()
          ? 'fifo'
          : st.isCharacterDevice()
            ? 'character-device'
            : st.isBlockDevice()
              ? 'block-device'
              : undefined;
        // Sockets have no tar representation; BuildKit skips them too.
        if (type === undefined) continue;
        const rdev = Number(st.rdev);
        await addEntry(pack, {
          ...base,
          name: relPath,
          type,
          devmajor: (rdev >> 8) & 0xfff,
          devminor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
        });
      }
    }
  };
  await visit(root, '');
}

function baseHeader(st: BigIntStats): Omit<HeaderArg, 'name'> {
  return {
    mode: Number(st.mode) & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtime: new Date(Number(st.mtimeMs)),
  };
}

function addEntry(pack: Pack, header: HeaderArg, body?: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const cb = (err?: Error | null) => (err ? reject(err) : resolve());
    if (body) pack.entry(header, body, cb);
    else pack.entry(header, cb);
  });
}

async function addFile(pack: Pack, header: HeaderArg, host: string, signal: AbortSignal): Promise<void> {
  let done!: Promise<void>;
  const entry: Sink = await new Promise<Sink>((resolveEntry) => {
    done = new Promise<void>((resolve, reject) => {
      resolveEntry(pack.entry(header, (err) => (err ? reject(err) : resolve())));
    });
  });
  // Files past WholeFileBytes only: reads of 1 MiB, not the 64 KiB default, so fewer chunks go down
  // the pipe, each large enough to be sent as one session message without being joined to others.
  const stream = createReadStream(host, { signal, highWaterMark: StreamReadBytes });
  let written = 0;
  for await (const chunk of stream) {
    const buf = chunk as Buffer;
    // The header promised st.size bytes; a file that grew meanwhile is cut to keep the archive valid.
    const room = (header.size ?? 0) - written;
    if (room <= 0) break;
    const part = buf.length > room ? buf.subarray(0, room) : buf;
    written += part.length;
    if (!entry.write(part)) await new Promise<void>((r) => entry.once('drain', () => r()));
  }
  stream.destroy();
  if (written < (header.size ?? 0)) {
    entry.destroy(new Error(`${host} shrank while being archived`));
  } else {
    entry.end(undefined);
  }
  await done;
}

/** Files up to this size are read in one call and handed to tar-stream whole. */
export const WholeFileBytes = 1024 * 1024;
/** Read size for larger files. */
export const StreamReadBytes = 1024 * 1024;

/**
 * A small file's bytes, up to one past `size` (so growth shows): open, read, close on the callback
 * API. The size is already known from lstat, and FileHandle objects (promises API) cost more CPU
 * than reading a few KiB.
 */
export function readSmallFile(host: string, size: number, signal: AbortSignal): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      return;
    }
    open(host, 'r', (openErr, fd) => {
      if (openErr) {
        reject(openErr);
        return;
      }
      const buf = Buffer.allocUnsafe(size + 1);
      const finish = (err: Error | null, n: number) =>
        close(fd, (closeErr) => {
          const e = err ?? closeErr;
          if (e) reject(e);
          else resolve(buf.subarray(0, n));
        });
      // A short read of a regular file is its end: no second read to see a 0 (a round trip per file).
      const step = (off: number) =>
        read(fd, buf, off, buf.length - off, off, (err, n) => {
          if (err) finish(err, off);
          else if (n === 0 || off + n === buf.length || off + n >= size) finish(null, off + n);
          else step(off + n);
        });
      step(0);
    });
  });
}
