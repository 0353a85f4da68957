import { execFileSync } from 'node:child_process';
import {
  chmod,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { syncOverlayChanges } from '../../daemon/solver/ops/exec-overlay-sync.js';
import { listMountsUnder, mountOverlay, unmount, unmountAll } from '../../worker/mount/mount.js';

const signal = new AbortController().signal;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function scratch(base: string): Promise<string> {
  const dir = await mkdtemp(path.join(base, 'kiln-ovsync-'));
  cleanups.push(async () => {
    await unmountAll(dir);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

const T = new Date('2020-01-02T03:04:05Z');

async function makeLower(lower: string): Promise<void> {
  await mkdir(path.join(lower, 'd'));
  await writeFile(path.join(lower, 'd/a'), 'a');
  await writeFile(path.join(lower, 'd/b'), 'b', { mode: 0o644 });
  await mkdir(path.join(lower, 'o'));
  await writeFile(path.join(lower, 'o/x'), 'x');
  await writeFile(path.join(lower, 'f'), 'f');
  await mkdir(path.join(lower, 'd2'));
  await writeFile(path.join(lower, 'd2/z'), 'z');
  await writeFile(path.join(lower, 'keep'), 'keep');
}

/** What a RUN step would do through the merged view. */
async function change(m: string): Promise<void> {
  await unlink(path.join(m, 'd/a'));
  await writeFile(path.join(m, 'd/c'), 'c');
  await chmod(path.join(m, 'd/b'), 0o600);
  await rm(path.join(m, 'o'), { recursive: true });
  await mkdir(path.join(m, 'o'));
  await writeFile(path.join(m, 'o/y'), 'y');
  await unlink(path.join(m, 'f'));
  await mkdir(path.join(m, 'f'));
  await writeFile(path.join(m, 'f/in'), 'in');
  await rm(path.join(m, 'd2'), { recursive: true });
  await writeFile(path.join(m, 'd2'), 'now a file');
  await mkdir(path.join(m, 'new/sub'), { recursive: true, mode: 0o750 });
  await writeFile(path.join(m, 'new/sub/f1'), 'one', { mode: 0o640 });
  await link(path.join(m, 'new/sub/f1'), path.join(m, 'new/h'));
  await link(path.join(m, 'new/sub/f1'), path.join(m, 'd/h2'));
  await symlink('sub/f1', path.join(m, 'new/s'));
  execFileSync('mkfifo', [path.join(m, 'new/p')]);
  await utimes(path.join(m, 'new/sub/f1'), T, T);
  await utimes(path.join(m, 'new/sub'), T, T);
  await utimes(path.join(m, 'new'), T, T);
  await utimes(path.join(m, 'd'), T, T);
}

async function tree(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(path.join(root, rel))).sort()) {
    const r = rel === '' ? name : `${rel}/${name}`;
    const st = await lstat(path.join(root, r));
    out.push(`${r} ${(st.mode & 0o170000).toString(8)} ${(st.mode & 0o7777).toString(8)}`);
    if (st.isDirectory()) out.push(...(await tree(root, r)));
  }
  return out;
}

describe('syncOverlayChanges', () => {
  for (const mode of ['same filesystem (move)', 'across filesystems (copy)'] as const) {
    it(`applies a step's changes to a hardlink clone: ${mode}`, async () => {
      const base = await scratch(tmpdir());
      const lower = path.join(base, 'lower');
      const output = path.join(base, 'output');
      await mkdir(lower);
      await makeLower(lower);
      execFileSync('cp', ['-al', lower, output]);
      const before = await tree(lower);
      const keepIno = (await lstat(path.join(lower, 'keep'))).ino;
      // /dev/shm is a tmpfs: a different filesystem from the output's.
      const ovl = mode === 'same filesystem (move)' ? base : await scratch('/dev/shm');
      const upper = path.join(ovl, 'upper');
      const work = path.join(ovl, 'work');
      const merged = path.join(ovl, 'merged');
      await Promise.all([mkdir(upper), mkdir(work), mkdir(merged)]);
      await mountOverlay({ lower: [lower], upper, work, target: merged });
      await change(merged);
      const expected = await tree(merged);

      let unmounted = 0;
      await syncOverlayChanges(upper, merged, output, signal, async () => {
        unmounted++;
        await unmount(merged);
      });

      expect(unmounted).toBe(1);
      expect(await listMountsUnder(base)).toEqual([]);
      expect(await tree(output)).toEqual(expected);
      // The parent is untouched, unchanged files still share its inodes.
      expect(await tree(lower)).toEqual(before);
      expect(await readFile(path.join(lower, 'd/b'), 'utf8')).toBe('b');
      expect((await lstat(path.join(lower, 'd/b'))).mode & 0o777).toBe(0o644);
      expect((await lstat(path.join(output, 'keep'))).ino).toBe(keepIno);
      // Contents, metadata, links made by the step.
      expect(await readFile(path.join(output, 'd/c'), 'utf8')).toBe('c');
      expect(await readFile(path.join(output, 'd2'), 'utf8')).toBe('now a file');
      expect(await readFile(path.join(output, 'f/in'), 'utf8')).toBe('in');
      expect(await readdir(path.join(output, 'o'))).toEqual(['y']);
      expect(await readlink(path.join(output, 'new/s'))).toBe('sub/f1');
      const f1 = await lstat(path.join(output, 'new/sub/f1'));
      expect(f1.mtime.getTime()).toBe(T.getTime());
      expect(f1.nlink).toBe(3);
      expect((await lstat(path.join(output, 'new/h'))).ino).toBe(f1.ino);
      expect((await lstat(path.join(output, 'd/h2'))).ino).toBe(f1.ino);
      for (const dir of ['new', 'new/sub', 'd'])
        expect((await lstat(path.join(output, dir))).mtime.getTime()).toBe(T.getTime());
    });
  }

  it('moves the files of a same-filesystem upper dir instead of copying them', async () => {
    const base = await scratch(tmpdir());
    const lower = path.join(base, 'lower');
    const output = path.join(base, 'output');
    await mkdir(lower);
    await makeLower(lower);
    execFileSync('cp', ['-al', lower, output]);
    const [upper, work, merged] = ['upper', 'work', 'merged'].map((n) => path.join(base, n)) as [
      string,
      string,
      string,
    ];
    await Promise.all([mkdir(upper), mkdir(work), mkdir(merged)]);
    await mountOverlay({ lower: [lower], upper, work, target: merged });
    await mkdir(path.join(merged, 'many'));
    for (let i = 0; i < 50; i++) await writeFile(path.join(merged, 'many', `f${i}`), `${i}`);
    await writeFile(path.join(merged, 'd/new'), 'n');
    await unmount(merged);
    const inoMany = (await lstat(path.join(upper, 'many/f7'))).ino;
    const inoNew = (await lstat(path.join(upper, 'd/new'))).ino;
    await mountOverlay({ lower: [lower], upper, work, target: merged });

    await syncOverlayChanges(upper, merged, output, signal, () => unmount(merged));

    expect((await lstat(path.join(output, 'many/f7'))).ino).toBe(inoMany);
    expect((await lstat(path.join(output, 'd/new'))).ino).toBe(inoNew);
    expect(await readdir(path.join(output, 'many'))).toHaveLength(50);
    expect(await readdir(path.join(upper, 'd'))).toEqual([]);
  });
});
