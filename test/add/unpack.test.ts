import { execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copy } from '../../worker/fs/copy.js';
import type { CopyOptions } from '../../worker/fs/file-action-types.js';
import { isArchiveFile } from '../../worker/fs/unpack.js';

const signal = new AbortController().signal;
let work: string;
let src: string;
let dst: string;

beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'kiln-unpack-'));
  src = path.join(work, 'src');
  dst = path.join(work, 'dst');
  await mkdir(src);
  await mkdir(dst);
  // The tree the archives are made of.
  const tree = path.join(work, 'tree');
  await mkdir(path.join(tree, 'dir', 'sub'), { recursive: true });
  await writeFile(path.join(tree, 'dir', 'a.txt'), 'alpha\n', { mode: 0o640 });
  await writeFile(path.join(tree, 'dir', 'sub', 'b.txt'), 'beta\n');
  await symlink('a.txt', path.join(tree, 'dir', 'link'));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

function addOpts(srcPath: string, dest: string, extra: Partial<CopyOptions> = {}): CopyOptions {
  return {
    src: srcPath,
    dest,
    followSymlink: true,
    dirCopyContents: true,
    createDestPath: true,
    allowWildcard: true,
    allowEmptyWildcard: true,
    includePatterns: [],
    excludePatterns: [],
    attemptUnpack: true,
    ...extra,
  };
}

/** Packs entries with tar-stream (hostile names included); returns the tar bytes. */
async function packTar(
  entries: readonly { header: Partial<tar.Header> & { name: string }; data?: string }[],
): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  for (const e of entries) pack.entry(e.header as tar.Header, e.data ?? '');
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

describe('ADD local archives', () => {
  it.each([
    ['tar', 'archive.tar', ['-cf']],
    ['gzip', 'archive.tgz', ['-czf']],
    ['bzip2', 'archive.tar.bz2', ['-cjf']],
    ['xz', 'archive.tar.xz', ['-cJf']],
    ['zstd', 'archive.tar.zst', ['--zstd', '-cf']],
  ])('extracts %s (detected by content, not name)', async (_kind, name, flags) => {
    // A misleading name: detection must look at the bytes.
    const file = path.join(src, `${name}.bin`);
    execFileSync('tar', [...flags, file, '-C', path.join(work, 'tree'), 'dir']);
    expect(await isArchiveFile(file, signal)).toBe(true);
    await copy(src, dst, addOpts(`/${name}.bin`, '/out/'), signal);
    expect(await readFile(path.join(dst, 'out/dir/a.txt'), 'utf8')).toBe('alpha\n');
    expect(await readFile(path.join(dst, 'out/dir/sub/b.txt'), 'utf8')).toBe('beta\n');
    expect(await readlink(path.join(dst, 'out/dir/link'))).toBe('a.txt');
    expect((await stat(path.join(dst, 'out/dir/a.txt'))).mode & 0o777).toBe(0o640);
    // The archive itself is not copied.
    await expect(lstat(path.join(dst, 'out', `${name}.bin`))).rejects.toThrow(/ENOENT/);
  });

  it('applies --chown and --chmod to extracted entries', async () => {
    execFileSync('tar', ['-czf', path.join(src, 'a.tar.gz'), '-C', path.join(work, 'tree'), 'dir']);
    await copy(
      src,
      dst,
      addOpts('/a.tar.gz', '/out', { owner: { uid: 1234, gid: 5678 }, mode: 0o700 }),
      signal,
    );
    for (const p of ['out/dir', 'out/dir/a.txt', 'out/dir/sub/b.txt']) {
      const st = await stat(path.join(dst, p));
      expect([p, st.uid, st.gid, st.mode & 0o777]).toEqual([p, 1234, 5678, 0o700]);
    }
    expect((await lstat(path.join(dst, 'out/dir/link'))).uid).toBe(1234);
    const out = await stat(path.join(dst, 'out'));
    expect([out.uid, out.gid]).toEqual([1234, 5678]);
  });

  it('copies a non-archive as is, including a compressed non-tar and an empty tar', async () => {
    await writeFile(path.join(src, 'plain.tar.gz'), 'not an archive');
    execFileSync('sh', ['-c', `echo hello | gzip > ${path.join(src, 'hello.gz')}`]);
    await writeFile(path.join(src, 'empty.tar'), Buffer.alloc(1024));
    for (const f of ['plain.tar.gz', 'hello.gz', 'empty.tar']) {
      expect(await isArchiveFile(path.join(src, f), signal)).toBe(false);
      await copy(src, dst, addOpts(`/${f}`, '/out/'), signal);
    }
    expect(await readFile(path.join(dst, 'out/plain.tar.gz'), 'utf8')).toBe('not an archive');
    expect(execFileSync('gzip', ['-dc', path.join(dst, 'out/hello.gz')]).toString()).toBe('hello\n');
    expect((await stat(path.join(dst, 'out/empty.tar'))).size).toBe(1024);
  });

  it('without attemptUnpack (COPY) an archive is copied, not extracted', async () => {
    execFileSync('tar', ['-cf', path.join(src, 'a.tar'), '-C', path.join(work, 'tree'), 'dir']);
    await copy(src, dst, addOpts('/a.tar', '/out/', { attemptUnpack: false }), signal);
    expect((await stat(path.join(dst, 'out/a.tar'))).isFile()).toBe(true);
  });

  it('wildcards unpack each matching archive', async () => {
    execFileSync('tar', ['-czf', path.join(src, 'one.tgz'), '-C', path.join(work, 'tree'), 'dir/a.txt']);
    execFileSync('tar', ['-cJf', path.join(src, 'two.txz'), '-C', path.join(work, 'tree'), 'dir/sub']);
    await copy(src, dst, addOpts('/*.t?z', '/out/'), signal);
    expect(await readFile(path.join(dst, 'out/dir/a.txt'), 'utf8')).toBe('alpha\n');
    expect(await readFile(path.join(dst, 'out/dir/sub/b.txt'), 'utf8')).toBe('beta\n');
  });

  it('absolute names land inside the destination', async () => {
    const data = await packTar([{ header: { name: '/etc/passwd-from-tar', type: 'file' }, data: 'x' }]);
    await writeFile(path.join(src, 'abs.tar'), data);
    await copy(src, dst, addOpts('/abs.tar', '/out/'), signal);
    expect(await readFile(path.join(dst, 'out/etc/passwd-from-tar'), 'utf8')).toBe('x');
  });

  it('refuses entries that climb out with ..', async () => {
    const data = await packTar([{ header: { name: 'ok/../../escape.txt', type: 'file' }, data: 'x' }]);
    await writeFile(path.join(src, 'evil.tar'), data);
    await expect(copy(src, dst, addOpts('/evil.tar', '/out/'), signal)).rejects.toThrow(
      /outside the extraction root/,
    );
    await expect(lstat(path.join(dst, 'escape.txt'))).rejects.toThrow(/ENOENT/);
    await expect(lstat(path.join(work, 'escape.txt'))).rejects.toThrow(/ENOENT/);
  });

  it('never writes through symlinks planted by the archive', async () => {
    const outside = path.join(work, 'outside');
    await mkdir(outside);
    const data = await packTar([
      { header: { name: 'evil', type: 'symlink', linkname: outside } },
      { header: { name: 'evil/pwned.txt', type: 'file' }, data: 'x' },
      { header: { name: 'rel', type: 'symlink', linkname: '../../../..' } },
      { header: { name: 'rel/pwned2.txt', type: 'file' }, data: 'y' },
      { header: { name: 'hard', type: 'link', linkname: '../../secret' } },
    ]);
    await writeFile(path.join(src, 'evil.tar'), data);
    await expect(copy(src, dst, addOpts('/evil.tar', '/out/'), signal)).rejects.toThrow(
      /hardlink target .* outside the extraction root/,
    );
    // The symlinks resolve as if the destination were `/`: the files stay inside it.
    await expect(lstat(path.join(outside, 'pwned.txt'))).rejects.toThrow(/ENOENT/);
    await expect(lstat(path.join(work, 'pwned2.txt'))).rejects.toThrow(/ENOENT/);
    expect(await readFile(path.join(dst, 'out', outside, 'pwned.txt'), 'utf8')).toBe('x');
    expect(await readFile(path.join(dst, 'out/pwned2.txt'), 'utf8')).toBe('y');
  });

  it('replaces existing files instead of writing into them (hardlinked snapshots stay intact)', async () => {
    await mkdir(path.join(dst, 'out'));
    await writeFile(path.join(dst, 'shared.txt'), 'original');
    execFileSync('ln', [path.join(dst, 'shared.txt'), path.join(dst, 'out', 'f.txt')]);
    const data = await packTar([{ header: { name: 'f.txt', type: 'file' }, data: 'new' }]);
    await writeFile(path.join(src, 'f.tar'), data);
    await copy(src, dst, addOpts('/f.tar', '/out/'), signal);
    expect(await readFile(path.join(dst, 'out/f.txt'), 'utf8')).toBe('new');
    expect(await readFile(path.join(dst, 'shared.txt'), 'utf8')).toBe('original');
  });

  it('reports a corrupt compressed archive', async () => {
    execFileSync('tar', ['-cJf', path.join(src, 'a.txz'), '-C', path.join(work, 'tree'), 'dir']);
    // Keep the header (still detected as an archive) but cut the rest off.
    const whole = await readFile(path.join(src, 'a.txz'));
    const big = Buffer.alloc(200_000, 7);
    await writeFile(path.join(work, 'big'), big);
    execFileSync('tar', ['-cJf', path.join(src, 'b.txz'), '-C', work, 'big']);
    const b = await readFile(path.join(src, 'b.txz'));
    await writeFile(path.join(src, 'b.txz'), b.subarray(0, Math.floor(b.length / 2)));
    expect(whole.length).toBeGreaterThan(0);
    await expect(copy(src, dst, addOpts('/b.txz', '/out/'), signal)).rejects.toThrow(/xz|unexpected|end/i);
  });
});
