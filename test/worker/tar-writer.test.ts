import { chown, link, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { tarDirectory } from '../../worker/fs/tar-writer.js';
import { signal, tempDir } from './fs-helpers.js';

interface Parsed {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string;
  body: string;
}

async function parse(chunks: AsyncIterable<Uint8Array>): Promise<Parsed[]> {
  const extract = tar.extract();
  const out: Parsed[] = [];
  const done = (async () => {
    for await (const entry of extract) {
      const parts: Buffer[] = [];
      for await (const c of entry) parts.push(c as Buffer);
      const h = entry.header;
      out.push({
        name: h.name,
        type: h.type,
        mode: h.mode,
        uid: h.uid,
        gid: h.gid,
        mtime: h.mtime.getTime() / 1000,
        linkname: h.linkname ?? '',
        body: Buffer.concat(parts).toString(),
      });
    }
  })();
  Readable.from(chunks).pipe(extract as unknown as NodeJS.WritableStream);
  await done;
  return out;
}

async function collectAll(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(c);
  return out;
}

describe('tarDirectory', () => {
  it('writes a sorted, faithful archive', async () => {
    await using t = await tempDir();
    const longName = 'x'.repeat(150);
    await mkdir(path.join(t.path, 'b/c'), { recursive: true });
    await writeFile(path.join(t.path, 'a'), 'aaa', { mode: 0o751 });
    await writeFile(path.join(t.path, 'b/c/big'), Buffer.alloc(300_000, 7));
    await link(path.join(t.path, 'a'), path.join(t.path, 'b/hard'));
    await symlink('../a', path.join(t.path, 'b/sym'));
    await writeFile(path.join(t.path, `b/${longName}`), 'long');
    await chown(path.join(t.path, 'a'), 11, 12);
    await utimes(path.join(t.path, 'a'), 1234, 1234);
    const entries = await parse(tarDirectory(t.path, signal));
    expect(entries.map((e) => e.name)).toEqual([
      'a',
      'b/',
      'b/c/',
      'b/c/big',
      'b/hard',
      'b/sym',
      `b/${longName}`,
    ]);
    const a = entries[0]!;
    expect(a).toMatchObject({ type: 'file', mode: 0o751, uid: 11, gid: 12, mtime: 1234, body: 'aaa' });
    expect(entries[3]!.body.length).toBe(300_000);
    expect(entries[4]).toMatchObject({ type: 'link', linkname: 'a' });
    expect(entries[5]).toMatchObject({ type: 'symlink', linkname: '../a' });
    expect(entries[6]!.body).toBe('long');
  });

  it('writes many small files and files past 1 MiB, each with its own bytes', async () => {
    await using t = await tempDir();
    await mkdir(path.join(t.path, 'd'));
    const big = Buffer.alloc(2.5 * 1024 * 1024 + 3);
    for (let i = 0; i < big.length; i += 997) big[i] = i % 251;
    await writeFile(path.join(t.path, 'd/big'), big);
    await writeFile(path.join(t.path, 'd/edge'), Buffer.alloc(1024 * 1024, 9));
    const names: string[] = [];
    for (let i = 0; i < 100; i++) {
      const name = `f${String(i).padStart(3, '0')}`;
      names.push(`d/${name}`);
      await writeFile(path.join(t.path, 'd', name), i % 10 === 0 ? '' : `body of ${name}`);
    }
    await link(path.join(t.path, 'd/f005'), path.join(t.path, 'd/g-hard'));
    const chunks = await collectAll(tarDirectory(t.path, signal));
    const entries = await parse(
      (async function* () {
        yield* chunks;
      })(),
    );
    expect(entries.map((e) => e.name)).toEqual(['d/', 'd/big', 'd/edge', ...names, 'd/g-hard']);
    expect(Buffer.from(entries[1]!.body, 'latin1').length).toBe(big.length);
    expect(entries[2]!.body.length).toBe(1024 * 1024);
    for (const [i, e] of entries.slice(3, 103).entries())
      expect(e.body).toBe(i % 10 === 0 ? '' : `body of ${e.name.slice(2)}`);
    expect(entries[103]).toMatchObject({ type: 'link', linkname: 'd/f005' });
    // The large file went down the pipe in 1 MiB pieces, not 64 KiB ones.
    expect(Math.max(...chunks.map((c) => c.byteLength))).toBe(1024 * 1024);
  });

  it('is deterministic and stops on abort', async () => {
    await using t = await tempDir();
    for (let i = 0; i < 20; i++) await writeFile(path.join(t.path, `f${i}`), `content ${i}`);
    const collect = async () => Buffer.concat(await collectAll(tarDirectory(t.path, signal)));
    expect((await collect()).equals(await collect())).toBe(true);
    const ac = new AbortController();
    const it = tarDirectory(t.path, ac.signal);
    ac.abort(new Error('stop'));
    await expect(collectAll(it)).rejects.toThrow('stop');
  });
});
