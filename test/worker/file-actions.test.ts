import { link, lstat, mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FileActionError } from '../../worker/fs/file-action-error.js';
import { copy, mkdirAction, mkfileAction, rmAction, symlinkAction } from '../../worker/fs/file-actions.js';
import { copyOpts, signal, tempDir } from './fs-helpers.js';

const enc = (s: string) => new TextEncoder().encode(s);
const TS = 1_600_000_000_123_456_789n;

describe('mkdir', () => {
  it('creates with mode, owner and timestamp; makeParents', async () => {
    await using t = await tempDir();
    await mkdirAction(
      t.path,
      { path: '/a/b/c', mode: 0o750, makeParents: true, owner: { uid: 1000, gid: 1001 }, timestampNs: TS },
      signal,
    );
    for (const p of ['a', 'a/b', 'a/b/c']) {
      const st = await stat(path.join(t.path, p));
      expect(st.mode & 0o7777).toBe(0o750);
      expect([st.uid, st.gid]).toEqual([1000, 1001]);
    }
    // Parents get the time too, but creating their child moves it again (as in BuildKit).
    expect(Math.floor((await stat(path.join(t.path, 'a/b/c'))).mtimeMs / 1000)).toBe(1_600_000_000);
  });
  it('without makeParents fails on a missing parent and tolerates an existing dir', async () => {
    await using t = await tempDir();
    await expect(
      mkdirAction(t.path, { path: 'x/y', mode: 0o755, makeParents: false }, signal),
    ).rejects.toThrow('mkdir /x/y: no such file or directory');
    await mkdirAction(t.path, { path: 'x', mode: 0o700, makeParents: false }, signal);
    await mkdirAction(t.path, { path: 'x', mode: 0o755, makeParents: false }, signal);
    expect((await stat(path.join(t.path, 'x'))).mode & 0o777).toBe(0o700);
  });
  it('stays inside the root through .. and absolute symlinks', async () => {
    await using outer = await tempDir();
    const root = path.join(outer.path, 'root');
    await mkdir(root);
    await symlink('/', path.join(root, 'escape'));
    await symlink('../../..', path.join(root, 'up'));
    await mkdirAction(root, { path: '../../outside', mode: 0o755, makeParents: true }, signal);
    await mkdirAction(root, { path: '/escape/etc2', mode: 0o755, makeParents: true }, signal);
    await mkdirAction(root, { path: '/up/x', mode: 0o755, makeParents: true }, signal);
    expect((await readdir(outer.path)).sort()).toEqual(['root']);
    expect((await readdir(root)).sort()).toEqual(['escape', 'etc2', 'outside', 'up', 'x']);
  });
});

describe('mkfile', () => {
  it('writes data, mode, owner, timestamp', async () => {
    await using t = await tempDir();
    await mkfileAction(
      t.path,
      { path: '/f', mode: 0o640, data: enc('hi'), owner: { uid: 7, gid: 8 }, timestampNs: TS },
      signal,
    );
    const st = await stat(path.join(t.path, 'f'));
    expect(await readFile(path.join(t.path, 'f'), 'utf8')).toBe('hi');
    expect(st.mode & 0o7777).toBe(0o640);
    expect([st.uid, st.gid]).toEqual([7, 8]);
    expect(Math.floor(st.mtimeMs / 1000)).toBe(1_600_000_000);
  });
  it('replaces an existing file instead of writing through a hard link', async () => {
    await using t = await tempDir();
    await writeFile(path.join(t.path, 'shared'), 'parent');
    await link(path.join(t.path, 'shared'), path.join(t.path, 'f'));
    await mkfileAction(t.path, { path: 'f', mode: 0o644, data: enc('child') }, signal);
    expect(await readFile(path.join(t.path, 'shared'), 'utf8')).toBe('parent');
    expect(await readFile(path.join(t.path, 'f'), 'utf8')).toBe('child');
  });
  it('a symlink pointing out of root writes inside root', async () => {
    await using outer = await tempDir();
    const root = path.join(outer.path, 'root');
    await mkdir(root);
    await symlink(path.join(outer.path, 'victim'), path.join(root, 'link'));
    await symlink('/victim2', path.join(root, 'link2'));
    await symlink('../../../victim3', path.join(root, 'link3'));
    // The absolute target is re-rooted: <root>/<outer>/victim, whose parent does not exist.
    await expect(mkfileAction(root, { path: '/link', mode: 0o644, data: enc('x') }, signal)).rejects.toThrow(
      'no such file',
    );
    await mkfileAction(root, { path: '/link2', mode: 0o644, data: enc('y') }, signal);
    await mkfileAction(root, { path: '/link3', mode: 0o644, data: enc('z') }, signal);
    expect(await readdir(outer.path)).toEqual(['root']);
    expect(await readFile(path.join(root, 'victim2'), 'utf8')).toBe('y');
    expect(await readFile(path.join(root, 'victim3'), 'utf8')).toBe('z');
  });
  it('fails on a missing parent and on a directory', async () => {
    await using t = await tempDir();
    await expect(mkfileAction(t.path, { path: '/no/f', mode: 0o644, data: enc('') }, signal)).rejects.toThrow(
      'mkfile /no/f: no such file or directory',
    );
    await mkdir(path.join(t.path, 'd'));
    await expect(mkfileAction(t.path, { path: '/d', mode: 0o644, data: enc('') }, signal)).rejects.toThrow(
      FileActionError,
    );
  });
});

describe('rm', () => {
  it('removes files and trees; allowNotFound; wildcard', async () => {
    await using t = await tempDir();
    await mkdir(path.join(t.path, 'd/e'), { recursive: true });
    await writeFile(path.join(t.path, 'a.txt'), '');
    await writeFile(path.join(t.path, 'b.txt'), '');
    await writeFile(path.join(t.path, 'c.md'), '');
    await rmAction(t.path, { path: '/d', allowNotFound: false, allowWildcard: false }, signal);
    await expect(
      rmAction(t.path, { path: '/nope', allowNotFound: false, allowWildcard: false }, signal),
    ).rejects.toThrow('rm /nope: no such file or directory');
    await rmAction(t.path, { path: '/nope', allowNotFound: true, allowWildcard: false }, signal);
    await rmAction(t.path, { path: '/*.txt', allowNotFound: false, allowWildcard: true }, signal);
    expect(await readdir(t.path)).toEqual(['c.md']);
  });
  it('removes a symlink itself, not its target, and never the root', async () => {
    await using outer = await tempDir();
    const root = path.join(outer.path, 'root');
    await mkdir(root);
    await writeFile(path.join(outer.path, 'keep'), 'k');
    await symlink(path.join(outer.path, 'keep'), path.join(root, 'l'));
    await rmAction(root, { path: '/l', allowNotFound: false, allowWildcard: false }, signal);
    await rmAction(root, { path: '/../keep', allowNotFound: true, allowWildcard: false }, signal);
    expect(await readFile(path.join(outer.path, 'keep'), 'utf8')).toBe('k');
    await expect(
      rmAction(root, { path: '/..', allowNotFound: false, allowWildcard: false }, signal),
    ).rejects.toThrow(FileActionError);
    expect(await readdir(root)).toEqual([]);
  });
});

async function tree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string, rel: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const p = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(p);
      if (st.isDirectory()) {
        out[`${r}/`] = '';
        await walk(p, r);
      } else if (st.isSymbolicLink()) out[r] = `-> ${await readlink(p)}`;
      else out[r] = await readFile(p, 'utf8');
    }
  };
  await walk(root, '');
  return out;
}

async function makeSrc(root: string) {
  await mkdir(path.join(root, 'dir/sub'), { recursive: true });
  await writeFile(path.join(root, 'dir/a.txt'), 'A');
  await writeFile(path.join(root, 'dir/b.log'), 'B');
  await writeFile(path.join(root, 'dir/sub/c.txt'), 'C');
  await writeFile(path.join(root, 'file'), 'F');
  await symlink('dir/a.txt', path.join(root, 'rel-link'));
  await symlink('/dir', path.join(root, 'abs-dirlink'));
}

describe('copy', () => {
  it('copies a file to a path, into a dir with trailing slash, and a dir as itself', async () => {
    await using s = await tempDir();
    await using d = await tempDir();
    await makeSrc(s.path);
    await copy(s.path, d.path, copyOpts('/file', '/out/renamed'), signal);
    await copy(s.path, d.path, copyOpts('file', '/into/'), signal);
    await copy(s.path, d.path, copyOpts('/dir', '/x'), signal);
    await copy(s.path, d.path, copyOpts('/dir', '/x'), signal); // x exists now: dir lands inside it
    const t = await tree(d.path);
    expect(t['out/renamed']).toBe('F');
    expect(t['into/file']).toBe('F');
    expect(t['x/a.txt']).toBe('A');
    expect(t['x/sub/c.txt']).toBe('C');
    expect(t['x/dir/sub/c.txt']).toBe('C');
  });
  it('dirCopyContents copies the contents', async () => {
    await using s = await tempDir();
    await using d = await tempDir();
    await makeSrc(s.path);
    await copy(s.path, d.path, copyOpts('/dir', '/', { dirCopyContents: true }), signal);
    expect(Object.keys(await tree(d.path))).toEqual(['a.txt', 'b.log', 'sub/', 'sub/c.txt']);
  });
  it('createDestPath false requires the parent', async () => {
    await using s = await tempDir();
    await using d = await tempDir();
    await makeSrc(s.path);
    await expect(
      copy(s.path, d.path, copyOpts('/file', '/a/b', { createDestPath: false }), signal),
    ).rejects.toThrow(/copy \/a\/b/);
    await copy(s.path, d.path, copyOpts('/file', '/b', { createDestPath: false }), signal);
    expect(await readFile(path.join(d.path, 'b'), 'utf8')).toBe('F');
  });
  it('missing source names the action and path', async () => {
    await using s = await tempDir();
    await using d = await tempDir();
    await expect(copy(s.path, d.path, copyOpts('/src/x', '/'), signal)).rejects.toThrow(
      'copy /src/x: no such file or directory',
    );
  });
  it('wildcards match per segment; empty wildcard', async () => {
    await using s = await tempDir();
    await using d = await tempDir();
    await makeSrc(s.path);
    await copy(s.path, d.path, copyOpts('/dir/*.txt', '/w/', { allowWildcard: true }), signal);
    await copy(s.path, d.path, copyOpts('/*/s?b', '/w2/', { allowWildcard: true }), signal);
    expect(Object.keys(await tree(d.path))).toEqual(['w/', 'w/a.txt', 'w2/', 'w2/sub/', 'w2/sub/c.txt']);
    await expect(
      copy(s.path, d.path, copyOpts('/*.none', '/e/', { allowWildcard: true }), signal),
    ).rejects.toThrow('copy /*.none: no such file or directory');
    await copy(
      s.path,
      d.path,
      copyOpts('/*.none', '/e/', { allowWildcard: true, allowEmptyWildcard: true }),
      signal,
    );
  });
  it('symlinks are preserved unless followSymlink', async () => {
    await using s = await tempDir();
    await using d = await tempDir();
    await makeSrc(s.path);
    await copy(s.path, d.path, copyOpts('/rel-link', '/kept'), signal);
    await copy(s.path, d.path, copyOpts('/rel-link', '/followed', { followSymlink: true }), signal);
    await copy(s.path, d.path, copyOpts('/abs-dirlink', '/viadir', { followSymlink: true }), signal);
    const t = await tree(d.path);
    expect(t.kept).toBe('-> dir/a.txt');
    expect(t.followed).toBe('A');
    expect(t['viadir/sub/c.txt']).toBe('C');
  });
  it('include and exclude patterns', async () => {
    await using s = await tempDir();
    await using d = await tempDir();
    await makeSrc(s.path);
    await copy(s.path, d.path, copyOpts('/dir', '/inc', { includePatterns: ['**/*.txt'] }), signal);
    await copy(s.path, d.path, copyOpts('/dir', '/exc', { excludePatterns: ['*.log', 'sub'] }), signal);
    await copy(s.path, d.path, copyOpts('/dir', '/neg', { excludePatterns: ['sub', '!sub/c.txt'] }), signal);
    const t = Object.keys(await tree(d.path));
    expect(t.filter((k) => k.startsWith('inc/'))).toEqual(['inc/', 'inc/a.txt', 'inc/sub/', 'inc/sub/c.txt']);
    expect(t.filter((k) => k.startsWith('exc/'))).toEqual(['exc/', 'exc/a.txt']);
    expect(t.filter((k) => k.startsWith('neg/'))).toEqual([
      'neg/',
      'neg/a.txt',
      'neg/b.log',
      'neg/sub/',
      'neg/sub/c.txt',
    ]);
  });
  it('mode, owner and timestamp apply to every copied entry', async () => {
    await using s = await tempDir();
    await using d = await tempDir();
    await makeSrc(s.path);
    await copy(
      s.path,
      d.path,
      copyOpts('/dir', '/o', { mode: 0o700, owner: { uid: 123, gid: 456 }, timestampNs: TS }),
      signal,
    );
    for (const p of ['o', 'o/a.txt', 'o/sub', 'o/sub/c.txt']) {
      const st = await lstat(path.join(d.path, p));
      expect(st.mode & 0o777).toBe(0o700);
      expect([st.uid, st.gid]).toEqual([123, 456]);
      expect(Math.floor(st.mtimeMs / 1000)).toBe(1_600_000_000);
    }
  });
  it('keeps source mode, owner and mtime by default', async () => {
    await using s = await tempDir();
    await using d = await tempDir();
    await writeFile(path.join(s.path, 'f'), 'x', { mode: 0o751 });
    const { chown, chmod, utimes } = await import('node:fs/promises');
    await chmod(path.join(s.path, 'f'), 0o751);
    await chown(path.join(s.path, 'f'), 42, 43);
    await utimes(path.join(s.path, 'f'), 1000, 2000);
    await copy(s.path, d.path, copyOpts('/f', '/f'), signal);
    const st = await stat(path.join(d.path, 'f'));
    expect(st.mode & 0o7777).toBe(0o751);
    expect([st.uid, st.gid]).toEqual([42, 43]);
    expect(st.mtimeMs).toBe(2_000_000);
  });
  it('overwriting replaces the file and never writes into a hard-linked inode', async () => {
    await using s = await tempDir();
    await using d = await tempDir();
    await writeFile(path.join(s.path, 'f'), 'new');
    await writeFile(path.join(d.path, 'parent-file'), 'old');
    await link(path.join(d.path, 'parent-file'), path.join(d.path, 'f'));
    await copy(s.path, d.path, copyOpts('/f', '/f'), signal);
    expect(await readFile(path.join(d.path, 'f'), 'utf8')).toBe('new');
    expect(await readFile(path.join(d.path, 'parent-file'), 'utf8')).toBe('old');
  });
  it('hard links inside the source stay linked', async () => {
    await using s = await tempDir();
    await using d = await tempDir();
    await writeFile(path.join(s.path, 'one'), '1');
    await link(path.join(s.path, 'one'), path.join(s.path, 'two'));
    await copy(s.path, d.path, copyOpts('/', '/c/', { dirCopyContents: true }), signal);
    const a = await stat(path.join(d.path, 'c/one'));
    const b = await stat(path.join(d.path, 'c/two'));
    expect(a.ino).toBe(b.ino);
  });
  it('escaping sources and destinations stay inside their roots', async () => {
    await using outer = await tempDir();
    const src = path.join(outer.path, 'src');
    const dst = path.join(outer.path, 'dst');
    await mkdir(src);
    await mkdir(dst);
    await writeFile(path.join(outer.path, 'secret'), 'S');
    await symlink('../secret', path.join(src, 'up'));
    await symlink(path.join(outer.path, 'secret'), path.join(src, 'abs'));
    await symlink('/..', path.join(dst, 'out'));
    await symlink('loop2', path.join(src, 'loop1'));
    await symlink('loop1', path.join(src, 'loop2'));
    await expect(copy(src, dst, copyOpts('/up', '/a', { followSymlink: true }), signal)).rejects.toThrow(
      /no such file/,
    );
    await expect(copy(src, dst, copyOpts('/abs', '/b', { followSymlink: true }), signal)).rejects.toThrow(
      /no such file/,
    );
    await expect(copy(src, dst, copyOpts('/../secret', '/c'), signal)).rejects.toThrow(/no such file/);
    await expect(copy(src, dst, copyOpts('/loop1', '/l', { followSymlink: true }), signal)).rejects.toThrow(
      /symbolic links/,
    );
    await writeFile(path.join(src, 'f'), 'f');
    await copy(src, dst, copyOpts('/f', '/out/'), signal);
    await copy(src, dst, copyOpts('/f', '/../../f2'), signal);
    expect((await readdir(outer.path)).sort()).toEqual(['dst', 'secret', 'src']);
    expect(await readFile(path.join(dst, 'f'), 'utf8')).toBe('f');
    expect(await readFile(path.join(dst, 'f2'), 'utf8')).toBe('f');
    expect(await readFile(path.join(outer.path, 'secret'), 'utf8')).toBe('S');
  });
});

describe('symlink and ADD compatibility', () => {
  it('symlink creates the link itself inside root', async () => {
    await using t = await tempDir();
    await symlinkAction(t.path, { oldpath: '/etc/passwd', newpath: '/../l', timestampNs: TS }, signal);
    expect(await readlink(path.join(t.path, 'l'))).toBe('/etc/passwd');
  });
  it('attemptUnpack copies plain files and compressed non-tars as they are', async () => {
    await using s = await tempDir();
    await using d = await tempDir();
    await writeFile(path.join(s.path, 'plain'), 'text');
    // A gzip whose content is not a tar is not an archive: ADD copies it unchanged, like Docker.
    const notTar = gzipSync(Buffer.from('x'));
    await writeFile(path.join(s.path, 'a.tgz'), notTar);
    await copy(s.path, d.path, copyOpts('/plain', '/', { attemptUnpack: true }), signal);
    expect(await readFile(path.join(d.path, 'plain'), 'utf8')).toBe('text');
    await copy(s.path, d.path, copyOpts('/a.tgz', '/', { attemptUnpack: true }), signal);
    expect(await readFile(path.join(d.path, 'a.tgz'))).toEqual(notTar);
  });
});

describe('copy inode sharing', () => {
  it('hard-links files whose copy would be identical, copies when owner, mode or time change', async () => {
    await using t = await tempDir();
    const src = path.join(t.path, 'src');
    const dst = path.join(t.path, 'dst');
    await mkdir(path.join(src, 'd'), { recursive: true });
    await mkdir(dst);
    await writeFile(path.join(src, 'd', 'f'), 'data');
    const srcIno = (await stat(path.join(src, 'd', 'f'))).ino;
    await copy(src, dst, copyOpts('/d', '/plain'), signal);
    expect((await stat(path.join(dst, 'plain', 'f'))).ino).toBe(srcIno);
    await copy(src, dst, copyOpts('/d', '/moded', { mode: 0o600 }), signal);
    const moded = await stat(path.join(dst, 'moded', 'f'));
    expect(moded.ino).not.toBe(srcIno);
    expect(moded.mode & 0o777).toBe(0o600);
    await copy(src, dst, copyOpts('/d', '/timed', { timestampNs: TS }), signal);
    expect((await stat(path.join(dst, 'timed', 'f'))).ino).not.toBe(srcIno);
    await copy(src, dst, copyOpts('/d', '/owned', { owner: { uid: 1234, gid: 1234 } }), signal);
    const owned = await stat(path.join(dst, 'owned', 'f'));
    expect(owned.ino).not.toBe(srcIno);
    expect(owned.uid).toBe(1234);
    // The source is untouched by all of this.
    const s = await stat(path.join(src, 'd', 'f'));
    expect([s.uid, s.mode & 0o777]).toEqual([0, 0o644]);
    expect(await readFile(path.join(src, 'd', 'f'), 'utf8')).toBe('data');
  });
});
