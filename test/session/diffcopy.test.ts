import { execFileSync } from 'node:child_process';
import { chmod, link, lstat, mkdir, readFile, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileSyncProvider } from '../../client/session/filesync-provider.js';
import { type ClientSession, startSession } from '../../client/session/start-session.js';
import { fetchLocalDir } from '../../daemon/session/filesync.js';
import type { Session } from '../../daemon/session/session.js';
import { type Harness, startHarness } from './harness.js';
import { describeTree } from './tree.js';

let h: Harness;
let cs: ClientSession;
let session: Session;
let src: string;
const ac = new AbortController();

async function makeTree(root: string): Promise<void> {
  await mkdir(path.join(root, 'dir', 'nested'), { recursive: true });
  await mkdir(path.join(root, 'empty'));
  await mkdir(path.join(root, 'node_modules', 'pkg'), { recursive: true });
  await writeFile(path.join(root, 'a.txt'), 'alpha\n');
  await writeFile(path.join(root, 'big.bin'), Buffer.alloc(200_000, 7));
  await writeFile(path.join(root, 'dir', 'b.go'), 'package b\n');
  await writeFile(path.join(root, 'dir', 'nested', 'c.go'), 'package c\n');
  await writeFile(path.join(root, 'node_modules', 'pkg', 'index.js'), 'x');
  await writeFile(path.join(root, 'run.sh'), '#!/bin/sh\n');
  await chmod(path.join(root, 'run.sh'), 0o755);
  await chmod(path.join(root, 'dir', 'nested'), 0o750);
  await writeFile(path.join(root, 'setuid'), 's');
  await chmod(path.join(root, 'setuid'), 0o4755);
  await symlink('dir/b.go', path.join(root, 'link-to-b'));
  await symlink('/etc/passwd', path.join(root, 'abs-link'));
  await link(path.join(root, 'a.txt'), path.join(root, 'hard-a'));
  await link(path.join(root, 'a.txt'), path.join(root, 'dir', 'hard-a2'));
  await utimes(path.join(root, 'a.txt'), 1_600_000_000.123456, 1_600_000_000.123456);
  await utimes(path.join(root, 'dir'), 1_500_000_000, 1_500_000_000);
}

beforeEach(async () => {
  h = await startHarness();
  src = path.join(h.tmp, 'src');
  await mkdir(src);
  await makeTree(src);
  cs = await startSession({
    conn: h.open,
    name: 'test',
    attachables: [fileSyncProvider({ context: src, other: path.join(h.tmp, 'nowhere') }, ac.signal)],
    signal: ac.signal,
  });
  session = await h.manager.get(cs.id, { signal: ac.signal });
});
afterEach(async () => {
  await cs.close();
  await h.close();
});

async function fetchInto(name: string, opts: Record<string, string[]> = {}): Promise<string> {
  const dest = path.join(h.tmp, `dest-${Math.random().toString(36).slice(2)}`);
  await mkdir(dest);
  await fetchLocalDir(
    session,
    {
      name,
      dest,
      includePatterns: opts.include ?? [],
      excludePatterns: opts.exclude ?? [],
      followPaths: opts.follow ?? [],
    },
    ac.signal,
  );
  return dest;
}

describe('FileSync.DiffCopy over the session', () => {
  it('copies files, dirs, symlinks, hardlinks, modes and mtimes exactly', async () => {
    const dest = await fetchInto('context');
    const want = await describeTree(src);
    const got = await describeTree(dest);
    expect(got).toEqual(want);
    expect(got['hard-a']?.links).toBe('a.txt,dir/hard-a2,hard-a');
    expect(got.setuid?.mode).toBe(0o4755);
    expect(got['dir/nested']?.mode).toBe(0o750);
  });

  it('applies include, exclude (with exceptions) and followpaths', async () => {
    const inc = await fetchInto('context', { include: ['dir/nested', '*.txt'] });
    expect(Object.keys(await describeTree(inc))).toEqual(['a.txt', 'dir', 'dir/nested', 'dir/nested/c.go']);

    const exc = await fetchInto('context', { exclude: ['node_modules', 'dir/**/*.go', '!dir/nested/c.go'] });
    const excKeys = Object.keys(await describeTree(exc));
    expect(excKeys).not.toContain('node_modules');
    expect(excKeys).not.toContain('dir/b.go');
    expect(excKeys).toContain('dir/nested/c.go');

    const fol = await fetchInto('context', { include: ['nothing'], follow: ['link-to-b'] });
    const folTree = await describeTree(fol);
    expect(Object.keys(folTree)).toEqual(['dir', 'dir/b.go', 'link-to-b']);
    expect(await readFile(path.join(fol, 'link-to-b'), 'utf8')).toBe('package b\n');
  });

  it('sends non-ASCII names and patterns escaped, as BuildKit does, and the client reads them back', async () => {
    await mkdir(path.join(src, 'ünï €'));
    await writeFile(path.join(src, 'ünï €', 'naïve.txt'), 'x');
    const got = await fetchInto('context', { include: ['ünï €/naïve.txt'] });
    expect(Object.keys(await describeTree(got))).toEqual(['ünï €', 'ünï €/naïve.txt']);
  });

  it('an unknown dir name is a clear NotFound', async () => {
    await expect(fetchInto('missing')).rejects.toThrow(/no access allowed to dir "missing"/);
  });

  it('re-syncs incrementally: only changed bytes move, old snapshot untouched', async () => {
    const first = await fetchInto('context');
    // The next snapshot starts as hardlinks of the previous one, as the snapshotter prepares it.
    const second = path.join(h.tmp, 'second');
    execFileSync('cp', ['-a', '--link', first, second]);
    const before = await describeTree(first);

    await writeFile(path.join(src, 'dir', 'b.go'), 'package b // changed\n');
    await writeFile(path.join(src, 'new.txt'), 'brand new');
    await unlink(path.join(src, 'run.sh'));

    let reported = 0;
    const r = await fetchLocalDir(
      session,
      { name: 'context', dest: second, onProgress: (b) => (reported = b) },
      ac.signal,
    );
    expect(r.bytes).toBe('package b // changed\n'.length + 'brand new'.length);
    expect(reported).toBe(r.bytes);
    expect(r.filesRequested).toBe(2);
    expect(r.removed).toBe(1);
    expect(await describeTree(second)).toEqual(await describeTree(src));
    // The shared inode of the previous snapshot was never written in place.
    expect(await describeTree(first)).toEqual(before);
    expect((await lstat(path.join(second, 'big.bin'))).ino).toBe(
      (await lstat(path.join(first, 'big.bin'))).ino,
    );
  });
});
