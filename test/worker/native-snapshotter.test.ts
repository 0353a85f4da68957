import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mkfileAction } from '../../worker/fs/file-actions.js';
import { createNativeSnapshotter } from '../../worker/snapshot/native.js';
import { signal, tempDir } from './fs-helpers.js';

describe('native snapshotter', () => {
  it('prepare/commit/get/list/remove', async () => {
    await using t = await tempDir();
    const sn = createNativeSnapshotter(t.path);
    expect(await sn.list()).toEqual([]);
    const m = await sn.prepare(undefined, signal);
    await writeFile(path.join(m.dir, 'a'), 'hello');
    expect(await sn.get(m.id)).toBeUndefined();
    const info = await m.commit(signal);
    expect(await sn.get(info.id)).toEqual(info);
    expect(await sn.list()).toEqual([info.id]);
    expect(await sn.usage(info.id)).toBeGreaterThan(0);
    await sn.remove(info.id);
    expect(await sn.list()).toEqual([]);
    expect(await sn.get(info.id)).toBeUndefined();
  });

  it('lists uncommitted leftovers and discards on dispose', async () => {
    await using t = await tempDir();
    const sn = createNativeSnapshotter(t.path);
    const left = await sn.prepare(undefined, signal);
    {
      await using gone = await sn.prepare(undefined, signal);
      expect((await sn.list()).length).toBe(2);
      void gone;
    }
    expect(await sn.list()).toEqual([left.id]);
    expect(await sn.get(left.id)).toBeUndefined();
  });

  it('copy children are independent; hardlink children share files but not writes', async () => {
    await using t = await tempDir();
    const sn = createNativeSnapshotter(t.path);
    const base = await sn.prepare(undefined, signal);
    await mkdir(path.join(base.dir, 'd'));
    await writeFile(path.join(base.dir, 'd/f'), 'parent', { mode: 0o640 });
    await symlink('d/f', path.join(base.dir, 'l'));
    const parent = await base.commit(signal);

    const copyChild = await sn.prepare(parent, signal, { share: 'copy' });
    await writeFile(path.join(copyChild.dir, 'd/f'), 'changed in place');
    expect(await readFile(path.join(parent.dir, 'd/f'), 'utf8')).toBe('parent');

    const hl = await sn.prepare(parent, signal, { share: 'hardlink' });
    expect((await stat(path.join(hl.dir, 'd/f'))).ino).toBe((await stat(path.join(parent.dir, 'd/f'))).ino);
    expect((await stat(path.join(hl.dir, 'd/f'))).mode & 0o777).toBe(0o640);
    await mkfileAction(
      hl.dir,
      { path: '/d/f', mode: 0o600, data: new TextEncoder().encode('child') },
      signal,
    );
    await mkfileAction(hl.dir, { path: '/d/new', mode: 0o600, data: new TextEncoder().encode('n') }, signal);
    expect(await readFile(path.join(parent.dir, 'd/f'), 'utf8')).toBe('parent');
    expect(await readdir(path.join(parent.dir, 'd'))).toEqual(['f']);
    expect(await readFile(path.join(hl.dir, 'l'), 'utf8')).toBe('child');
    // The shared file counts half to each.
    const child = await hl.commit(signal);
    expect(await sn.usage(child.id)).toBeGreaterThan(0);
    await copyChild.discard();
  });

  it('abort kills the copy and leaves nothing behind', async () => {
    await using t = await tempDir();
    const sn = createNativeSnapshotter(t.path);
    const base = await sn.prepare(undefined, signal);
    for (let i = 0; i < 200; i++) await writeFile(path.join(base.dir, `f${i}`), 'x'.repeat(1000));
    const parent = await base.commit(signal);
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(sn.prepare(parent, ac.signal)).rejects.toThrow('stop');
    expect(await sn.list()).toEqual([parent.id]);
  });
});
