import { execFile } from 'node:child_process';
import { chmod, link, mkdir, mkdtemp, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diffTar } from '../../worker/fs/diff.js';
import { collect, readTar } from './tar-read.js';

const run = promisify(execFile);
const signal = new AbortController().signal;
let tmp: string;
let parent: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'kiln-diff-'));
  parent = path.join(tmp, 'parent');
  await mkdir(path.join(parent, 'etc', 'conf.d'), { recursive: true });
  await mkdir(path.join(parent, 'usr', 'lib', 'deep'), { recursive: true });
  await mkdir(path.join(parent, 'var'), { recursive: true });
  await writeFile(path.join(parent, 'etc', 'hosts'), 'localhost\n');
  await writeFile(path.join(parent, 'etc', 'passwd'), 'root:x:0:0\n');
  await writeFile(path.join(parent, 'etc', 'conf.d', 'a.conf'), 'a=1\n');
  await writeFile(path.join(parent, 'usr', 'lib', 'deep', 'x.so'), 'ELF');
  await writeFile(path.join(parent, 'usr', 'lib', 'y.so'), 'ELF2');
  await writeFile(path.join(parent, 'var', 'keep'), 'k');
  await symlink('etc/hosts', path.join(parent, 'link'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function clone(mode: 'copy' | 'hardlink'): Promise<string> {
  const child = path.join(tmp, `child-${mode}`);
  await run('cp', [mode === 'copy' ? '-a' : '-al', '--', parent, child]);
  return child;
}

const names = async (p: string | undefined, c: string) =>
  (await readTar(await collect(diffTar(p, c, signal)))).map((e) => e.name);

describe('diffTar', () => {
  it('a base layer holds the whole tree in byte order, parents first', async () => {
    const entries = await readTar(await collect(diffTar(undefined, parent, signal)));
    expect(entries.map((e) => e.name)).toEqual([
      'etc/',
      'etc/conf.d/',
      'etc/conf.d/a.conf',
      'etc/hosts',
      'etc/passwd',
      'link',
      'usr/',
      'usr/lib/',
      'usr/lib/deep/',
      'usr/lib/deep/x.so',
      'usr/lib/y.so',
      'var/',
      'var/keep',
    ]);
    expect(entries.find((e) => e.name === 'link')).toMatchObject({ type: 'symlink', linkname: 'etc/hosts' });
    expect(entries.find((e) => e.name === 'etc/hosts')?.data.toString()).toBe('localhost\n');
  });

  it('an unchanged copy and an unchanged hardlink clone give an empty layer', async () => {
    expect(await names(parent, await clone('copy'))).toEqual([]);
    expect(await names(parent, await clone('hardlink'))).toEqual([]);
  });

  it('adds, modifies, chmods and deletes files, with their parent directories', async () => {
    const child = await clone('copy');
    await writeFile(path.join(child, 'etc', 'new'), 'fresh');
    await writeFile(path.join(child, 'etc', 'hosts'), 'localhost other\n');
    await chmod(path.join(child, 'usr', 'lib', 'y.so'), 0o700);
    await unlink(path.join(child, 'var', 'keep'));
    const entries = await readTar(await collect(diffTar(parent, child, signal)));
    expect(entries.map((e) => e.name)).toEqual([
      'etc/',
      'etc/hosts',
      'etc/new',
      'usr/',
      'usr/lib/',
      'usr/lib/y.so',
      'var/',
      'var/.wh.keep',
    ]);
    expect(entries.find((e) => e.name === 'etc/hosts')?.data.toString()).toBe('localhost other\n');
    expect(entries.find((e) => e.name === 'usr/lib/y.so')?.mode).toBe(0o700);
    expect(entries.find((e) => e.name === 'var/.wh.keep')).toMatchObject({
      type: 'file',
      data: Buffer.alloc(0),
    });
  });

  it('a same-size rewrite with a new mtime counts as changed; same size and mtime as unchanged', async () => {
    const child = await clone('copy');
    await writeFile(path.join(child, 'etc', 'passwd'), 'root:y:0:0\n');
    await utimes(path.join(child, 'etc', 'passwd'), new Date(5_000_000), new Date(5_000_000));
    expect(await names(parent, child)).toEqual(['etc/', 'etc/passwd']);
    const fresh = path.join(tmp, 'fresh');
    await run('cp', ['-a', '--', child, fresh]);
    await writeFile(path.join(fresh, 'etc', 'passwd'), 'root:z:0:0\n');
    await utimes(path.join(fresh, 'etc', 'passwd'), new Date(5_000_000), new Date(5_000_000));
    expect(await names(child, fresh)).toEqual([]);
  });

  it('a deleted directory is one whiteout; a directory replaced by a file is hidden then added', async () => {
    const child = await clone('copy');
    await rm(path.join(child, 'usr', 'lib', 'deep'), { recursive: true });
    await rm(path.join(child, 'etc', 'conf.d'), { recursive: true });
    await writeFile(path.join(child, 'etc', 'conf.d'), 'now a file');
    const entries = await readTar(await collect(diffTar(parent, child, signal)));
    expect(entries.map((e) => e.name)).toEqual([
      'etc/',
      'etc/.wh.conf.d',
      'etc/conf.d',
      'usr/',
      'usr/lib/',
      'usr/lib/.wh.deep',
    ]);
    expect(entries.find((e) => e.name === 'etc/conf.d')).toMatchObject({ type: 'file' });
  });

  it('records a changed symlink target', async () => {
    const child = await clone('copy');
    await unlink(path.join(child, 'link'));
    await symlink('etc/passwd', path.join(child, 'link'));
    const entries = await readTar(await collect(diffTar(parent, child, signal)));
    expect(entries.map((e) => [e.name, e.type, e.linkname])).toEqual([['link', 'symlink', 'etc/passwd']]);
  });

  it('writes hard links inside the layer as link entries; clone-shared inodes are skipped', async () => {
    const child = await clone('hardlink');
    // Writers of hardlink clones replace files instead of editing them.
    await unlink(path.join(child, 'etc', 'hosts'));
    await writeFile(path.join(child, 'etc', 'hosts'), 'replaced\n');
    await mkdir(path.join(child, 'bin'));
    await writeFile(path.join(child, 'bin', 'busybox'), 'BB');
    await link(path.join(child, 'bin', 'busybox'), path.join(child, 'bin', 'sh'));
    await link(path.join(child, 'bin', 'busybox'), path.join(child, 'bin', 'ls'));
    const entries = await readTar(await collect(diffTar(parent, child, signal)));
    expect(entries.map((e) => [e.name, e.type, e.linkname ?? ''])).toEqual([
      ['bin/', 'directory', ''],
      ['bin/busybox', 'file', ''],
      ['bin/ls', 'link', 'bin/busybox'],
      ['bin/sh', 'link', 'bin/busybox'],
      ['etc/', 'directory', ''],
      ['etc/hosts', 'file', ''],
    ]);
  });

  it('is deterministic and writes long names through PAX headers', async () => {
    const child = await clone('copy');
    const long = `${'d'.repeat(120)}/${'f'.repeat(150)}`;
    await mkdir(path.join(child, path.dirname(long)));
    await writeFile(path.join(child, long), 'long');
    const a = await collect(diffTar(parent, child, signal));
    const b = await collect(diffTar(parent, child, signal));
    expect(a.equals(b)).toBe(true);
    const entries = await readTar(a);
    expect(entries.map((e) => e.name)).toEqual([`${'d'.repeat(120)}/`, long]);
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(collect(diffTar(undefined, parent, ac.signal))).rejects.toThrow('stop');
  });
});
