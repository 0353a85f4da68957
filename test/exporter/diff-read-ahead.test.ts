import { randomBytes } from 'node:crypto';
import { link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diffTar } from '../../worker/fs/diff.js';
import { collect, readTar } from './tar-read.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'kiln-diff-ra-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('diffTar with many small files (read ahead)', () => {
  it('writes every file with its own bytes, empty, small and large, and hard links once', async () => {
    const dir = path.join(tmp, 'tree');
    await mkdir(path.join(dir, 'many'), { recursive: true });
    const want = new Map<string, Buffer>();
    for (let i = 0; i < 300; i++) {
      const body = randomBytes(i % 7 === 0 ? 0 : 1 + ((i * 97) % 9000));
      want.set(`many/f${String(i).padStart(3, '0')}`, body);
      await writeFile(path.join(dir, 'many', `f${String(i).padStart(3, '0')}`), body);
    }
    const big = randomBytes(3 * 1024 * 1024 + 5);
    await writeFile(path.join(dir, 'big'), big);
    await link(path.join(dir, 'many', 'f001'), path.join(dir, 'many', 'z-link'));
    const entries = await readTar(await collect(diffTar(undefined, dir, AbortSignal.timeout(30_000))));
    const files = new Map(entries.filter((e) => e.type === 'file').map((e) => [e.name, e.data]));
    expect(files.get('big')?.equals(big)).toBe(true);
    for (const [name, body] of want) expect(files.get(name)?.equals(body), name).toBe(true);
    expect(entries.find((e) => e.name === 'many/z-link')).toMatchObject({
      type: 'link',
      linkname: 'many/f001',
    });
  });

  it('fails with the abort reason part-way', async () => {
    const dir = path.join(tmp, 'tree');
    await mkdir(dir);
    // Several output chunks (1 MiB each), so the abort comes part-way.
    for (let i = 0; i < 200; i++) await writeFile(path.join(dir, `f${i}`), randomBytes(20_000));
    const ac = new AbortController();
    const run = async () => {
      let n = 0;
      for await (const _ of diffTar(undefined, dir, ac.signal)) if (++n === 2) ac.abort(new Error('stop'));
    };
    await expect(run()).rejects.toThrow('stop');
  });
});
