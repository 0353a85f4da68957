import { chmod, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../proto/errors.js';
import { ContentHashCache, checksumPath } from '../../worker/fs/content-hash.js';
import { signal, tempDir } from './fs-helpers.js';

async function fixture(root: string) {
  await mkdir(path.join(root, 'src/sub'), { recursive: true });
  await writeFile(path.join(root, 'src/a.txt'), 'A');
  await writeFile(path.join(root, 'src/b.log'), 'B');
  await writeFile(path.join(root, 'src/sub/c.txt'), 'C');
  await symlink('src/a.txt', path.join(root, 'link'));
}

describe('checksumPath', () => {
  it('ignores mtimes, sees content, mode and symlink targets', async () => {
    await using t = await tempDir();
    await fixture(t.path);
    const h1 = await checksumPath(t.path, '/src', {}, signal);
    expect(h1).toMatch(/^sha256:[0-9a-f]{64}$/);
    await utimes(path.join(t.path, 'src/a.txt'), 5, 5);
    await utimes(path.join(t.path, 'src'), 5, 5);
    expect(await checksumPath(t.path, '/src', {}, signal)).toBe(h1);
    await writeFile(path.join(t.path, 'src/sub/c.txt'), 'C2');
    const h2 = await checksumPath(t.path, '/src', {}, signal);
    expect(h2).not.toBe(h1);
    await chmod(path.join(t.path, 'src/a.txt'), 0o600);
    expect(await checksumPath(t.path, '/src', {}, signal)).not.toBe(h2);

    const link = await checksumPath(t.path, '/link', {}, signal);
    const followed = await checksumPath(t.path, '/link', { followLinks: true }, signal);
    expect(followed).toBe(await checksumPath(t.path, '/src/a.txt', {}, signal));
    expect(link).not.toBe(followed);
  });

  it('same content in two trees gives the same digest', async () => {
    await using a = await tempDir();
    await using b = await tempDir();
    await fixture(a.path);
    await fixture(b.path);
    await utimes(path.join(b.path, 'src/b.log'), 1, 1);
    expect(await checksumPath(a.path, '/', {}, signal)).toBe(await checksumPath(b.path, '/', {}, signal));
  });

  it('wildcards and include/exclude narrow the selection', async () => {
    await using t = await tempDir();
    await fixture(t.path);
    const all = await checksumPath(t.path, '/src', {}, signal);
    const noLog = await checksumPath(t.path, '/src', { excludePatterns: ['*.log'] }, signal);
    const onlyTxt = await checksumPath(t.path, '/src', { includePatterns: ['sub'] }, signal);
    expect(new Set([all, noLog, onlyTxt]).size).toBe(3);
    await writeFile(path.join(t.path, 'src/b.log'), 'B changed');
    expect(await checksumPath(t.path, '/src', { excludePatterns: ['*.log'] }, signal)).toBe(noLog);
    expect(await checksumPath(t.path, '/src', { includePatterns: ['sub'] }, signal)).toBe(onlyTxt);

    const one = await checksumPath(t.path, '/src/*.txt', { wildcard: true }, signal);
    expect(one).toBe(await checksumPath(t.path, '/src/a.txt', {}, signal));
    const many = await checksumPath(t.path, '/src/*', { wildcard: true }, signal);
    expect(many).not.toBe(one);
    await expect(checksumPath(t.path, '/nope', {}, signal)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('memoizes per snapshot', async () => {
    await using t = await tempDir();
    await fixture(t.path);
    const cache = new ContentHashCache();
    const h1 = await checksumPath(t.path, '/src', {}, signal, cache.memo('snap1'));
    await writeFile(path.join(t.path, 'src/a.txt'), 'changed behind the cache');
    // A committed snapshot never changes, so the memo is trusted.
    expect(await checksumPath(t.path, '/src', {}, signal, cache.memo('snap1'))).toBe(h1);
    expect(await checksumPath(t.path, '/src', {}, signal, cache.memo('snap2'))).not.toBe(h1);
    cache.drop('snap1');
    expect(await checksumPath(t.path, '/src', {}, signal, cache.memo('snap1'))).not.toBe(h1);
  });

  it('does not leave the root through symlinks', async () => {
    await using outer = await tempDir();
    const root = path.join(outer.path, 'root');
    await mkdir(root);
    await writeFile(path.join(outer.path, 'secret'), 'S');
    await symlink('../secret', path.join(root, 'up'));
    await expect(checksumPath(root, '/up', { followLinks: true }, signal)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(checksumPath(root, '/../secret', {}, signal)).rejects.toBeInstanceOf(NotFoundError);
  });
});
