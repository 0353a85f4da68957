import type { BigIntStats } from 'node:fs';
import { createReadStream } from 'node:fs';
import type { Header, Pack } from 'tar-stream';
import tar from 'tar-stream';
import { type Change, listChanges } from './diff-changes.js';
import { readSmallFile, StreamReadBytes, WholeFileBytes } from './tar-writer.js';

type HeaderArg = Partial<Header> & Pick<Header, 'name'>;
type Sink = ReturnType<Pack['entry']>;

export interface DiffTarOptions {
  /**
   * SOURCE_DATE_EPOCH: entries modified after it are dated at it (BuildKit's rewrite-timestamp),
   * so a rebuild that touches files at another time gives the same bytes.
   */
  readonly clampMtime?: Date;
}

/** Prefix of an OCI/Docker whiteout: `dir/.wh.name` deletes `dir/name` from lower layers. */
export const WhiteoutPrefix = '.wh.';

/**
 * A layer: the uncompressed tar that turns `parentDir` (nothing when undefined) into `childDir`.
 * Deterministic: entries in byte order of their paths (parents first), owner ids, permission and
 * special bits, mtimes in whole seconds, no user/group names. Deleted entries become whiteouts (one
 * for a deleted directory, not one per child); a second path of an inode inside the layer becomes a
 * link entry. tar-stream adds PAX headers for names ustar cannot hold.
 */
export async function* diffTar(
  parentDir: string | undefined,
  childDir: string,
  signal: AbortSignal,
  options: DiffTarOptions = {},
): AsyncGenerator<Uint8Array> {
  signal.throwIfAborted();
  const changes = await listChanges(parentDir, childDir, signal);
  const pack = tar.pack();
  const onAbort = () =>
    pack.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
  signal.addEventListener('abort', onAbort, { once: true });
  const producer = writeChanges(pack, changes, signal, options.clampMtime).then(
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

function whiteoutName(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0
    ? `${WhiteoutPrefix}${rel}`
    : `${rel.slice(0, slash + 1)}${WhiteoutPrefix}${rel.slice(slash + 1)}`;
}

async function writeChanges(
  pack: Pack,
  changes: readonly Change[],
  signal: AbortSignal,
  clampMtime: Date | undefined,
): Promise<void> {
  // First path written for each multiply-linked inode in this layer.
  const inodes = new Map<string, string>();
  const readAhead = new SmallFileReadAhead(changes, signal);
  for (const [i, change] of changes.entries()) {
    signal.throwIfAborted();
    if (pack.destroyed) return;
    readAhead.advance(i);
    if (change.kind === 'delete') {
      // An empty body must be passed explicitly: a file entry without one waits for writes.
      await addEntry(
        pack,
        { name: whiteoutName(change.rel), type: 'file', mode: 0o644, mtime: new Date(0) },
        Buffer.alloc(0),
      );
      continue;
    }
    const { rel, host, st } = change;
    const base = baseHeader(st, clampMtime);
    if (st.isDirectory()) {
      await addEntry(pack, { ...base, name: `${rel}/`, type: 'directory' });
    } else if (st.isSymbolicLink()) {
      await addEntry(pack, { ...base, name: rel, type: 'symlink', linkname: change.linkTarget ?? '' });
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1n ? inodes.get(key) : undefined;
      if (first !== undefined) {
        await addEntry(pack, { ...base, name: rel, type: 'link', linkname: first });
        continue;
      }
      if (st.nlink > 1n) inodes.set(key, rel);
      await addFile(
        pack,
        { ...base, name: rel, type: 'file', size: Number(st.size) },
        host,
        signal,
        readAhead.take(i),
      );
    } else {
      const type = st.isFIFO()
        ? 'fifo'
        : st.isCharacterDevice()
          ? 'character-device'
          : st.isBlockDevice()
            ? 'block-device'
            : undefined;
      if (type === undefined) continue;
      const rdev = Number(st.rdev);
      await addEntry(pack, {
        ...base,
        name: rel,
        type,
        devmajor: (rdev >> 8) & 0xfff,
        devminor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
      });
    }
  }
}

function baseHeader(st: BigIntStats, clampMtime: Date | undefined): Omit<HeaderArg, 'name'> {
  // Whole seconds: the same tree always gives the same bytes, whatever the filesystem's precision.
  let mtime = new Date(Number(st.mtimeNs / 1_000_000_000n) * 1000);
  if (clampMtime && mtime.getTime() > clampMtime.getTime()) mtime = clampMtime;
  return { mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), mtime };
}

function addEntry(pack: Pack, header: HeaderArg, body?: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const cb = (err?: Error | null) => (err ? reject(err) : resolve());
    if (body) pack.entry(header, body, cb);
    else pack.entry(header, cb);
  });
}

/** How many small files are read ahead of the one being written. */
const ReadAheadFiles = 16;

const isSmallFile = (c: Change | undefined): c is Extract<Change, { kind: 'add' }> =>
  c !== undefined && c.kind === 'add' && c.st.isFile() && c.st.size <= BigInt(WholeFileBytes);

/**
 * Reads the next small files while earlier ones are written: one at a time, every file cost
 * several thread-pool round trips (open, stat, read, close) spent idle, which dominated layers of
 * many small files. A read not taken (a hard link's second path) is dropped; failures surface
 * when taken.
 */
class SmallFileReadAhead {
  private readonly reads = new Map<number, Promise<Buffer>>();
  private next = 0;

  constructor(
    private readonly changes: readonly Change[],
    private readonly signal: AbortSignal,
  ) {}

  advance(current: number): void {
    this.reads.delete(current - 1);
    for (; this.next < this.changes.length && this.next <= current + ReadAheadFiles; this.next++) {
      const c = this.changes[this.next];
      if (!isSmallFile(c)) continue;
      const read = readSmallFile(c.host, Number(c.st.size), this.signal);
      // Handled here so an abandoned read cannot become an unhandled rejection.
      read.catch(() => undefined);
      this.reads.set(this.next, read);
    }
  }

  take(index: number): Promise<Buffer> | undefined {
    const read = this.reads.get(index);
    this.reads.delete(index);
    return read;
  }
}

async function addFile(
  pack: Pack,
  header: HeaderArg,
  host: string,
  signal: AbortSignal,
  prefetched?: Promise<Buffer>,
): Promise<void> {
  const size = header.size ?? 0;
  if (size <= WholeFileBytes) {
    // A read stream per file (open, stat, reads, close, stream machinery) cost more than the bytes
    // for layers of many small files.
    const buf = await (prefetched ?? readSmallFile(host, size, signal));
    if (buf.length < size) throw new Error(`${host} shrank while being archived`);
    // The header promised st.size bytes; a file that grew meanwhile is cut to keep the archive valid.
    await addEntry(pack, header, buf.length > size ? buf.subarray(0, size) : buf);
    return;
  }
  let done!: Promise<void>;
  const entry: Sink = await new Promise<Sink>((resolveEntry) => {
    done = new Promise<void>((resolve, reject) => {
      resolveEntry(pack.entry(header, (err) => (err ? reject(err) : resolve())));
    });
  });
  // Reads of 1 MiB, not the 64 KiB default: a quarter of the chunks through tar-stream, the hash,
  // gzip and the store, and chunks large enough to be sent on as they are.
  const stream = createReadStream(host, { signal, highWaterMark: StreamReadBytes });
  let written = 0;
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      // The header promised st.size bytes; a file that grew meanwhile is cut to keep the archive valid.
      const room = size - written;
      if (room <= 0 || entry.destroying) break;
      const part = buf.length > room ? buf.subarray(0, room) : buf;
      written += part.length;
      if (!entry.write(part)) await drained(entry);
    }
  } finally {
    stream.destroy();
  }
  if (written < size) entry.destroy(new Error(`${host} shrank while being archived`));
  else entry.end(undefined);
  await done;
}

/** Resolves on 'drain', or on 'close' when the pack was torn down meanwhile (no drain then). */
function drained(entry: Sink): Promise<void> {
  return new Promise<void>((resolve) => {
    if (entry.destroying) {
      resolve();
      return;
    }
    const done = () => {
      entry.off('drain', done);
      entry.off('close', done);
      resolve();
    };
    entry.on('drain', done);
    entry.on('close', done);
  });
}
