import type { BigIntStats } from 'node:fs';
import { createReadStream } from 'node:fs';
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

async function writeTree(pack: Pack, root: string, signal: AbortSignal): Promise<void> {
  const inodes = new Map<string, string>();
  const visit = async (hostDir: string, rel: string): Promise<void> => {
    const names = (await readdir(hostDir)).sort(compareNames);
    for (const name of names) {
      signal.throwIfAborted();
      if (pack.destroyed) return;
      const host = path.join(hostDir, name);
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(host, { bigint: true });
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
        await addFile(pack, { ...base, name: relPath, type: 'file', size: Number(st.size) }, host, signal);
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

function addEntry(pack: Pack, header: HeaderArg): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry(header, (err) => (err ? reject(err) : resolve()));
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
