import type { BigIntStats } from 'node:fs';
import { createReadStream } from 'node:fs';
import type { Header, Pack } from 'tar-stream';
import tar from 'tar-stream';
import { type Change, listChanges } from './diff-changes.js';

type HeaderArg = Partial<Header> & Pick<Header, 'name'>;
type Sink = ReturnType<Pack['entry']>;

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
): AsyncGenerator<Uint8Array> {
  signal.throwIfAborted();
  const changes = await listChanges(parentDir, childDir, signal);
  const pack = tar.pack();
  const onAbort = () =>
    pack.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
  signal.addEventListener('abort', onAbort, { once: true });
  const producer = writeChanges(pack, changes, signal).then(
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

async function writeChanges(pack: Pack, changes: readonly Change[], signal: AbortSignal): Promise<void> {
  // First path written for each multiply-linked inode in this layer.
  const inodes = new Map<string, string>();
  for (const change of changes) {
    signal.throwIfAborted();
    if (pack.destroyed) return;
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
    const base = baseHeader(st);
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
      await addFile(pack, { ...base, name: rel, type: 'file', size: Number(st.size) }, host, signal);
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

function baseHeader(st: BigIntStats): Omit<HeaderArg, 'name'> {
  return {
    mode: Number(st.mode) & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    // Whole seconds: the same tree always gives the same bytes, whatever the filesystem's precision.
    mtime: new Date(Number(st.mtimeNs / 1_000_000_000n) * 1000),
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
  const stream = createReadStream(host, { signal });
  let written = 0;
  const size = header.size ?? 0;
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
