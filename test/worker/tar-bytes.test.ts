import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import {
  chmod,
  chown,
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  truncate,
  utimes,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import tar from 'tar-stream';
import type { Header } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { packTar } from '../../daemon/exporter/tar-pack.js';
import { chunkBytes, type LeasedChunk, releaseChunk } from '../../worker/leased-chunk.js';
import { diffTar } from '../../worker/fs/diff.js';
import { diffChanges } from '../../worker/fs/diff-changes.js';
import {
  encodeTarHeader,
  type TarHeader,
  TarType,
  tarHeaderMaxBytes,
  tarPadded,
} from '../../worker/fs/tar-header.js';
import { produceTar } from '../../worker/fs/tar-producer.js';
import { tarDirectory } from '../../worker/fs/tar-writer.js';
import { compareNames } from '../../worker/fs/wildcard.js';
import { signal, tempDir } from './fs-helpers.js';

/*
 * Kiln's tars were written by tar-stream; layer digests must not change with the writer. These
 * tests write the same headers and trees with tar-stream and compare bytes.
 */

type StreamHeader = Partial<Header> & Pick<Header, 'name'>;

/** Every byte of `source`; leased chunks (packTar's store reads) are copied and released. */
async function all(source: AsyncIterable<Uint8Array | LeasedChunk>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of source) {
    parts.push(Buffer.from(chunkBytes(c)));
    releaseChunk(c);
  }
  return Buffer.concat(parts);
}

/** tar-stream's archive of `entries` (bodies of file entries given whole). */
async function streamTar(entries: readonly { header: StreamHeader; body?: Buffer }[]): Promise<Buffer> {
  const pack = tar.pack();
  const out = all(pack as unknown as AsyncIterable<Uint8Array>);
  for (const { header, body } of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body) pack.entry(header, body, cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  return out;
}

/** The same entries through encodeTarHeader. */
function ownTar(entries: readonly { header: TarHeader; body?: Buffer }[]): Buffer {
  const parts: Buffer[] = [];
  for (const { header, body } of entries) {
    const buf = Buffer.alloc(tarHeaderMaxBytes(header));
    parts.push(buf.subarray(0, encodeTarHeader(buf, 0, header)));
    if (body) parts.push(body, Buffer.alloc(tarPadded(body.length) - body.length));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

const long = (c: string, n: number) => c.repeat(n);

describe('encodeTarHeader', () => {
  it('writes the bytes tar-stream wrote, ustar and PAX', async () => {
    const names = [
      'a',
      long('n', 100),
      long('n', 101),
      `${long('p', 155)}/${long('n', 100)}`,
      `${long('p', 156)}/${long('n', 100)}`,
      `${long('p', 60)}/${long('q', 60)}/${long('r', 60)}/${long('n', 99)}`,
      `${long('d', 120)}/`,
      'naïve/ü',
      `${long('é', 60)}`,
      // PAX record lengths around 100 and 1000 (the length's own digits count).
      long('x', 101 - 7),
      long('x', 1000 - 10),
      long('x', 996 - 10),
      long('x', 997 - 10),
      long('x', 998 - 10),
    ];
    const cases: { header: TarHeader; body?: Buffer }[] = [];
    const streamCases: { header: StreamHeader; body?: Buffer }[] = [];
    const add = (
      type: keyof typeof TarType,
      name: string,
      extra: {
        mode?: number;
        uid?: number;
        gid?: number;
        mtimeMs?: number;
        linkname?: string;
        body?: Buffer;
        devmajor?: number;
        devminor?: number;
      } = {},
    ) => {
      const h: TarHeader = {
        name,
        flag: TarType[type],
        mode: extra.mode ?? 0o644,
        uid: extra.uid ?? 0,
        gid: extra.gid ?? 0,
        size: extra.body?.length ?? 0,
        mtimeMs: extra.mtimeMs ?? 1_700_000_000_000,
        linkname: extra.linkname ?? '',
        devmajor: extra.devmajor ?? 0,
        devminor: extra.devminor ?? 0,
      };
      // A file entry without a body waits for one in tar-stream: give empty ones explicitly.
      const body = extra.body ?? (type === 'file' ? Buffer.alloc(0) : undefined);
      cases.push(body ? { header: h, body } : { header: h });
      const sh: StreamHeader = {
        name,
        type,
        mode: h.mode,
        uid: h.uid,
        gid: h.gid,
        mtime: new Date(h.mtimeMs),
        ...(extra.linkname !== undefined ? { linkname: extra.linkname } : {}),
        ...(extra.devmajor !== undefined ? { devmajor: extra.devmajor, devminor: extra.devminor ?? 0 } : {}),
      };
      streamCases.push(body ? { header: sh, body } : { header: sh });
    };
    for (const name of names) {
      add('file', name, { body: randomBytes(700) });
      add('directory', name.endsWith('/') ? name : `${name}/`, { mode: 0o755 });
      add('symlink', name, { mode: 0o777, linkname: 'target' });
    }
    for (const linkname of [
      long('l', 100),
      long('l', 101),
      'ü'.repeat(50),
      'ü'.repeat(51),
      `/${long('l', 300)}`,
    ]) {
      add('symlink', 'sl', { mode: 0o777, linkname });
      add('link', long('h', 120), { linkname });
    }
    add('file', 'mode0', { mode: 0, body: Buffer.from('x') });
    add('directory', 'dir0/', { mode: 0 });
    add('file', 'setuid', { mode: 0o7755, body: Buffer.alloc(0) });
    add('file', 'ids', { uid: 262_143, gid: 262_144, body: Buffer.alloc(512) });
    add('file', 'bigids', { uid: 300_000, gid: 4_000_000_000 });
    add('file', 'negative', { mtimeMs: -5_500 });
    add('file', 'y2038', { mtimeMs: 4_200_000_000_000 });
    add('file', 'epoch', { mtimeMs: 0 });
    add('fifo', 'fifo');
    add('character-device', 'null', { devmajor: 1, devminor: 3 });
    add('block-device', 'nvme', { devmajor: 259, devminor: 70_000 });
    add('file', 'dev-as-pax/é', { devmajor: 8, devminor: 1 });
    expect(ownTar(cases).equals(await streamTar(streamCases))).toBe(true);
  });
});

/** A tree with what a tar can hold and trip on; `variant` changes some of it (for diffs). */
async function makeTree(root: string, variant: boolean): Promise<void> {
  const isRoot = process.getuid?.() === 0;
  const m = long('y', 60);
  const deep = path.join(root, m, m, m, m);
  await mkdir(deep, { recursive: true });
  await mkdir(path.join(root, 'empty'));
  await mkdir(path.join(root, 'd1', 'd2', 'd3'), { recursive: true });
  await mkdir(path.join(root, 'é-dir'));
  await writeFile(path.join(deep, long('x', 120)), 'long');
  await writeFile(path.join(root, long('x', 120)), 'a');
  await writeFile(path.join(root, 'é-dir', 'naïve ü'), 'u');
  await writeFile(path.join(root, 'd1', 'f3000'), variant ? 'changed' : long('z', 3000));
  await writeFile(path.join(root, 'big'), randomBytes(3 * 1024 * 1024 + 5));
  await symlink(path.join(deep, long('x', 120)), path.join(root, 'longlink'));
  await symlink('ü-target', path.join(root, 'ulink'));
  await symlink(variant ? 'other' : 'd1', path.join(root, 'shortlink'));
  await link(path.join(root, 'd1', 'f3000'), path.join(root, 'd1', 'd2', 'hard'));
  await link(path.join(root, 'big'), path.join(root, 'bighard'));
  execFileSync('mkfifo', [path.join(root, 'fifo')]);
  await writeFile(path.join(root, 'setuid'), 's');
  await chmod(path.join(root, 'setuid'), 0o4755);
  await writeFile(path.join(root, 'mode0'), 'z');
  await chmod(path.join(root, 'mode0'), 0);
  await mkdir(path.join(root, 'dir0'));
  await writeFile(path.join(root, 'frac'), '');
  await utimes(path.join(root, 'frac'), 1_700_000_000.999, 1_700_000_000.999);
  await writeFile(path.join(root, 'future'), 'f');
  await utimes(path.join(root, 'future'), 4_200_000_000, 4_200_000_000);
  await writeFile(path.join(root, 'negative'), '');
  await utimes(path.join(root, 'negative'), -5.5, -5.5);
  await writeFile(path.join(root, 'same'), 'same');
  await utimes(path.join(root, 'same'), 1_600_000_000, 1_600_000_000);
  if (variant) {
    await mkdir(path.join(root, 'gone'));
    await writeFile(path.join(root, 'gone', 'n'), 'n');
    await chmod(path.join(root, 'd1', 'd2'), 0o700);
    for (let i = 1; i <= 50; i++) await writeFile(path.join(root, 'empty', `f${i}`), randomBytes(i * 37));
  } else {
    await writeFile(path.join(root, 'gone'), 'ab');
    await mkdir(path.join(root, 'gone-dir', 'sub'), { recursive: true });
    await writeFile(path.join(root, 'gone-dir', 'sub', 'x'), 'gd');
  }
  if (isRoot) {
    execFileSync('mknod', [path.join(root, 'cdev'), 'c', '1', '3']);
    execFileSync('mknod', [path.join(root, 'bdev'), 'b', '259', '70000']);
    await writeFile(path.join(root, 'biguid'), 'big');
    await chown(path.join(root, 'biguid'), 300_000, 4_000_000);
  }
  await chmod(path.join(root, 'dir0'), 0);
}

/** What tarDirectory wrote with tar-stream: the same walk, headers and bodies. */
async function streamTree(root: string): Promise<Buffer> {
  const entries: { header: StreamHeader; body?: Buffer }[] = [];
  const inodes = new Map<string, string>();
  const visit = async (dir: string, rel: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort(compareNames)) {
      const host = path.join(dir, name);
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(host, { bigint: true });
      const base = {
        mode: Number(st.mode) & 0o7777,
        uid: Number(st.uid),
        gid: Number(st.gid),
        mtime: new Date(Number(st.mtimeMs)),
      };
      if (st.isDirectory()) {
        entries.push({ header: { ...base, name: `${relPath}/`, type: 'directory' } });
        await visit(host, relPath);
      } else if (st.isSymbolicLink()) {
        entries.push({ header: { ...base, name: relPath, type: 'symlink', linkname: await readlink(host) } });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1n ? inodes.get(key) : undefined;
        if (first !== undefined) {
          entries.push({ header: { ...base, name: relPath, type: 'link', linkname: first } });
          continue;
        }
        if (st.nlink > 1n) inodes.set(key, relPath);
        entries.push({ header: { ...base, name: relPath, type: 'file' }, body: await readFile(host) });
      } else {
        const type = st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'character-device' : 'block-device';
        const rdev = Number(st.rdev);
        entries.push({
          header: {
            ...base,
            name: relPath,
            type,
            devmajor: (rdev >> 8) & 0xfff,
            devminor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
          },
        });
      }
    }
  };
  await visit(root, '');
  return streamTar(entries);
}

/** What diffTar wrote with tar-stream, from the same list of changes. */
async function streamDiff(parent: string | undefined, child: string, clamp?: Date): Promise<Buffer> {
  const entries: { header: StreamHeader; body?: Buffer }[] = [];
  const inodes = new Map<string, string>();
  const resolved = parent === undefined ? undefined : path.resolve(parent);
  for (const c of diffChanges(fs, () => {}, resolved, path.resolve(child))) {
    if (c.kind === 'delete') {
      const slash = c.rel.lastIndexOf('/');
      const name = `${c.rel.slice(0, slash + 1)}.wh.${c.rel.slice(slash + 1)}`;
      entries.push({
        header: { name, type: 'file', mode: 0o644, mtime: new Date(0) },
        body: Buffer.alloc(0),
      });
      continue;
    }
    const st = c.st;
    let mtime = new Date(Number(st.mtimeNs / 1_000_000_000n) * 1000);
    if (clamp && mtime.getTime() > clamp.getTime()) mtime = clamp;
    const base = { mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), mtime };
    if (st.isDirectory()) entries.push({ header: { ...base, name: `${c.rel}/`, type: 'directory' } });
    else if (st.isSymbolicLink())
      entries.push({ header: { ...base, name: c.rel, type: 'symlink', linkname: c.linkTarget ?? '' } });
    else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1n ? inodes.get(key) : undefined;
      if (first !== undefined) {
        entries.push({ header: { ...base, name: c.rel, type: 'link', linkname: first } });
        continue;
      }
      if (st.nlink > 1n) inodes.set(key, c.rel);
      entries.push({ header: { ...base, name: c.rel, type: 'file' }, body: await readFile(c.host) });
    } else {
      const type = st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'character-device' : 'block-device';
      const rdev = Number(st.rdev);
      entries.push({
        header: {
          ...base,
          name: c.rel,
          type,
          devmajor: (rdev >> 8) & 0xfff,
          devminor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
        },
      });
    }
  }
  return streamTar(entries);
}

describe('tar producer bytes', () => {
  it('tarDirectory and diffTar write what tar-stream wrote for the same tree', async () => {
    await using t = await tempDir('kiln-tar-bytes-');
    const parent = path.join(t.path, 'parent');
    const child = path.join(t.path, 'child');
    await makeTree(parent, false);
    await makeTree(child, true);
    try {
      const own = await all(tarDirectory(child, signal));
      expect(own.length).toBeGreaterThan(3 * 1024 * 1024);
      expect(own.equals(await streamTree(child))).toBe(true);
      expect((await all(diffTar(undefined, child, signal))).equals(await streamDiff(undefined, child))).toBe(
        true,
      );
      const layer = await all(diffTar(parent, child, signal));
      expect(layer.includes(Buffer.from('.wh.gone-dir'))).toBe(true);
      expect(layer.equals(await streamDiff(parent, child))).toBe(true);
      const clamp = new Date(1_650_000_000_500);
      expect(
        (await all(diffTar(parent, child, signal, { clampMtime: clamp }))).equals(
          await streamDiff(parent, child, clamp),
        ),
      ).toBe(true);
    } finally {
      await chmod(path.join(parent, 'dir0'), 0o755);
      await chmod(path.join(child, 'dir0'), 0o755);
    }
  });

  it('packTar writes what tar-stream wrote', async () => {
    const blob = randomBytes(5000);
    const name = `blobs/sha256/${long('a', 150)}`;
    const own = await all(
      packTar(
        [
          { name: 'blobs', type: 'directory' },
          {
            name,
            type: 'file',
            size: blob.length,
            body: async function* () {
              yield blob.subarray(0, 100);
              yield blob.subarray(100);
            },
          },
          {
            name: 'oci-layout',
            type: 'file',
            size: 3,
            body: async function* () {
              yield Buffer.from('{}\n');
            },
          },
        ],
        signal,
      ),
    );
    const epoch = new Date(0);
    const ref = await streamTar([
      { header: { name: 'blobs', type: 'directory', mode: 0o755, mtime: epoch } },
      { header: { name, type: 'file', mode: 0o644, mtime: epoch }, body: blob },
      { header: { name: 'oci-layout', type: 'file', mode: 0o644, mtime: epoch }, body: Buffer.from('{}\n') },
    ]);
    expect(own.equals(ref)).toBe(true);
  });
});

/** Open file descriptors of this process. */
async function fdCount(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

describe('tar producer thread', () => {
  it('hashes what it writes', async () => {
    await using t = await tempDir();
    await writeFile(path.join(t.path, 'f'), randomBytes(3 * 1024 * 1024));
    let digest = '';
    const bytes = await all(diffTar(undefined, t.path, signal, { onDiffId: (d) => (digest = d) }));
    const { createHash } = await import('node:crypto');
    expect(digest).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
  });

  it('stops on abort part-way and releases its files', async () => {
    await using t = await tempDir();
    await writeFile(path.join(t.path, 'big'), randomBytes(8 * 1024 * 1024));
    const before = await fdCount();
    const ac = new AbortController();
    const run = async () => {
      for await (const _ of produceTar({ kind: 'dir', root: t.path }, ac.signal, {
        chunkBytes: 64 * 1024,
        credit: 1,
      })) {
        // The thread is now in the middle of the file, waiting for credit with it open.
        ac.abort(new Error('stop'));
      }
    };
    await expect(run()).rejects.toThrow('stop');
    expect(await fdCount()).toBe(before);
  });

  it('stops when the consumer does, and releases its files', async () => {
    await using t = await tempDir();
    await writeFile(path.join(t.path, 'big'), randomBytes(4 * 1024 * 1024));
    const before = await fdCount();
    for await (const _ of produceTar({ kind: 'dir', root: t.path }, signal, {
      chunkBytes: 64 * 1024,
      credit: 1,
    }))
      break;
    expect(await fdCount()).toBe(before);
  });

  it('fails clearly when a file shrinks or vanishes while being archived', async () => {
    await using t = await tempDir();
    const a = path.join(t.path, 'a');
    await writeFile(a, randomBytes(1024 * 1024));
    await writeFile(path.join(t.path, 'b'), 'b');
    const opts = { chunkBytes: 4096, credit: 1 };
    const shrink = async () => {
      for await (const _ of produceTar({ kind: 'dir', root: t.path }, signal, opts)) await truncate(a, 10);
    };
    await expect(shrink()).rejects.toThrow(`${a} shrank while being archived`);
    await writeFile(a, randomBytes(1024 * 1024));
    const vanish = async () => {
      for await (const _ of produceTar({ kind: 'dir', root: t.path }, signal, opts))
        await rm(path.join(t.path, 'b'), { force: true });
    };
    await expect(vanish()).rejects.toMatchObject({
      code: 'ENOENT',
      syscall: 'lstat',
      path: path.join(t.path, 'b'),
    });
  });

  it('reports a missing directory with its errno fields', async () => {
    await expect(all(tarDirectory('/nonexistent/kiln', signal))).rejects.toMatchObject({
      code: 'ENOENT',
      syscall: 'scandir',
    });
  });
});
