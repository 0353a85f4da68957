import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
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

  it('copies run side by side through one shell, report cp errors, and leave no zombies', async () => {
    await using t = await tempDir();
    const sn = createNativeSnapshotter(t.path);
    const base = await sn.prepare(undefined, signal);
    await writeFile(path.join(base.dir, "it's"), 'quoted name');
    const parent = await base.commit(signal);
    const children = await Promise.all(
      Array.from({ length: 8 }, (_, i) => sn.prepare(parent, signal, { share: i % 2 ? 'copy' : 'hardlink' })),
    );
    for (const c of children) {
      expect(await readFile(path.join(c.dir, "it's"), 'utf8')).toBe('quoted name');
      expect(await readdir(path.dirname(c.dir))).toEqual(['fs']);
      await c.discard();
    }
    await expect(
      sn.prepare({ id: 'gone', dir: path.join(t.path, 'no such dir') }, signal, { share: 'hardlink' }),
    ).rejects.toThrow(/cp .*failed \(1\): cp: cannot stat/);
    expect(await sn.list()).toEqual([parent.id]);
    // The shell reaps each job once it reported (a `wait` it is sent right after).
    let zombies = zombieDescendants();
    for (let i = 0; i < 50 && zombies.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      zombies = zombieDescendants();
    }
    expect(zombies).toEqual([]);
  });

  it('an abort during the copy kills cp and removes the partial snapshot', async () => {
    await using t = await tempDir();
    const sn = createNativeSnapshotter(t.path);
    const base = await sn.prepare(undefined, signal);
    for (let d = 0; d < 10; d++) {
      await mkdir(path.join(base.dir, `d${d}`));
      for (let i = 0; i < 100; i++) writeFileSync(path.join(base.dir, `d${d}`, `f${i}`), 'x');
    }
    const parent = await base.commit(signal);
    const ac = new AbortController();
    const pending = sn.prepare(parent, ac.signal, { share: 'copy' });
    setTimeout(() => ac.abort(new Error('stop now')), 2);
    await expect(pending).rejects.toThrow('stop now');
    expect(await sn.list()).toEqual([parent.id]);
    // The shell survives an abort: the next copy works.
    const next = await sn.prepare(parent, signal, { share: 'hardlink' });
    expect((await readdir(next.dir)).length).toBe(10);
  });
});

/** Descendants of this process that exited and were not reaped. */
function zombieDescendants(): string[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,stat=,comm='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((r) => r.length >= 3);
  const mine = new Set([String(process.pid)]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of rows) {
      if (pid && ppid && mine.has(ppid) && !mine.has(pid)) {
        mine.add(pid);
        grew = true;
      }
    }
  }
  return rows
    .filter(([pid, , stat]) => pid && mine.has(pid) && stat?.startsWith('Z'))
    .map((r) => r.join(' '));
}
