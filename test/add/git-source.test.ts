import { lstat, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openCacheManager } from '../../daemon/cache/manager.js';
import type { CacheManager } from '../../daemon/cache/types.js';
import type { ImmutableRef, OpContext } from '../../daemon/solver/types.js';
import { parseGitIdentifier } from '../../daemon/source/git/git-identifier.js';
import { createGitSource } from '../../daemon/source/git/git-source.js';
import { createNativeSnapshotter } from '../../worker/snapshot/native.js';
import { createTestRepo, startGitDaemon, type TestRepo } from './git-repo.js';

let served: string;
let repo: TestRepo;
let daemon: { url: string; stop(): Promise<void> };

beforeAll(async () => {
  served = await mkdtemp(path.join(tmpdir(), 'kiln-gitsrv-'));
  repo = await createTestRepo(served);
  daemon = await startGitDaemon(served);
});
afterAll(async () => {
  await daemon?.stop();
  await rm(served, { recursive: true, force: true });
});

let root: string;
let cache: CacheManager;
const held: ImmutableRef[] = [];

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'kiln-gitsrc-'));
  cache = await openCacheManager({
    root,
    snapshotter: createNativeSnapshotter(path.join(root, 'snapshots')),
    signal: new AbortController().signal,
  });
});
afterEach(async () => {
  for (const r of held.splice(0)) await r.release();
  await cache.close();
  await rm(root, { recursive: true, force: true });
});

function ctx(): OpContext {
  return {
    signal: new AbortController().signal,
    sessionIds: [],
    progress: { status: () => undefined, log: () => undefined },
  };
}

function source() {
  return createGitSource({ refs: cache, workDir: path.join(root, 'git') });
}

/** The identifier the Dockerfile frontend makes for `git://127.0.0.1:PORT/repo.git#fragment`. */
function ident(fragment: string): [string, Record<string, string>] {
  const remote = `${daemon.url}/repo.git`;
  const id = `git://${remote.slice('git://'.length)}${fragment ? `#${fragment}` : ''}`;
  return [id, { 'git.fullurl': remote }];
}

async function run(fragment: string, attrs: Record<string, string> = {}) {
  const [id, base] = ident(fragment);
  const op = source().resolve(id, { ...base, ...attrs });
  const key = (await op.cacheMap(ctx())).digest;
  const [ref] = await op.exec(ctx(), []);
  if (!ref) throw new Error('no ref');
  held.push(ref);
  return { key, dir: ref.snapshot.dir };
}

describe('git source', () => {
  it('default branch (HEAD): key is the commit, .git is dropped, modes kept', async () => {
    const { key, dir } = await run('');
    expect(key).toBe(repo.commits.main);
    expect((await readdir(dir)).sort()).toEqual(['README', 'run.sh', 'sub']);
    expect(await readFile(path.join(dir, 'README'), 'utf8')).toBe('second\n');
    expect((await stat(path.join(dir, 'run.sh'))).mode & 0o111).not.toBe(0);
  });

  it('branch, annotated tag, lightweight tag and commit', async () => {
    const feature = await run('feature');
    expect(feature.key).toBe(repo.commits.feature);
    expect(await readFile(path.join(feature.dir, 'feature.txt'), 'utf8')).toBe('feature\n');
    const v1 = await run('v1');
    expect(v1.key).toBe(repo.commits.first); // the peeled commit, not the tag object
    expect(await readFile(path.join(v1.dir, 'README'), 'utf8')).toBe('first\n');
    const light = await run('light');
    expect(light.key).toBe(repo.commits.first);
    const byCommit = await run(repo.commits.first);
    expect(byCommit.key).toBe(repo.commits.first);
    expect(await readFile(path.join(byCommit.dir, 'README'), 'utf8')).toBe('first\n');
    const full = await run('refs/heads/feature');
    expect(full.key).toBe(repo.commits.feature);
  });

  it('subdir returns only that directory; the key names it', async () => {
    const { key, dir } = await run('main:sub/deep');
    expect(key).toBe(`${repo.commits.main}:sub/deep`);
    expect(await readdir(dir)).toEqual(['file.txt']);
    await expect(run('main:nosuch')).rejects.toThrow(/subdirectory "nosuch" not found/);
  });

  it('keep-git-dir keeps a working repository on the branch', async () => {
    const { key, dir } = await run('feature', { 'git.keepgitdir': 'true' });
    expect(key).toBe(`${repo.commits.feature}.git`);
    expect((await lstat(path.join(dir, '.git'))).isDirectory()).toBe(true);
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir }).toString().trim();
    expect(head).toBe(repo.commits.feature);
    const branch = execFileSync('git', ['rev-parse', '--abbrev-ref', 'HEAD'], { cwd: dir }).toString().trim();
    expect(branch).toBe('feature');
  });

  it('a checksum must match the resolved commit', async () => {
    await expect(run('v1', { 'git.checksum': repo.commits.first })).resolves.toBeDefined();
    await expect(run('v1', { 'git.checksum': repo.commits.main.slice(0, 12) })).rejects.toThrow(
      `expected checksum to match ${repo.commits.main.slice(0, 12)}, got ${repo.commits.first}`,
    );
  });

  it('unknown ref and unreachable repository are clear errors', async () => {
    await expect(run('nosuch')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `git repository ${daemon.url}/repo.git does not contain ref "nosuch"`,
    });
    const op = source().resolve('git://127.0.0.1:1/none.git', {
      'git.fullurl': 'git://127.0.0.1:1/none.git',
    });
    await expect(op.cacheMap(ctx())).rejects.toThrow(
      /failed to reach git repository git:\/\/127.0.0.1:1\/none.git: /,
    );
  });

  it('remotes without a transport are https: a build cannot read repositories on the daemon host', () => {
    expect(parseGitIdentifier('git://local/repo', { 'git.fullurl': repo.dir }).remote).toBe(
      `https://${repo.dir}`,
    );
    expect(parseGitIdentifier('git://local/repo', { 'git.fullurl': `file://${repo.dir}` }).remote).toBe(
      `https://file://${repo.dir}`,
    );
  });

  it('parses identifiers like BuildKit', () => {
    expect(parseGitIdentifier('git://github.com/moby/buildkit.git#v0.11.6:docs', {})).toEqual({
      remote: 'https://github.com/moby/buildkit.git',
      ref: 'v0.11.6',
      subdir: 'docs',
      keepGitDir: false,
      checksum: undefined,
    });
    expect(
      parseGitIdentifier('git://h/r.git', { 'git.fullurl': 'git@h:r.git', 'git.keepgitdir': 'true' }),
    ).toMatchObject({
      remote: 'git@h:r.git',
      ref: '',
      keepGitDir: true,
    });
    expect(() => parseGitIdentifier('git://h/r.git#--upload-pack=x', {})).toThrow(/invalid git ref/);
  });
});
