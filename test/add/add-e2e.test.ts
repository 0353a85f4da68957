import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerfileBuildArgs, kilnctl, type Kilnd, startKilnd, tempDir } from '../e2e/harness.js';
import { createTestRepo, startGitDaemon, type TestRepo } from './git-repo.js';

/**
 * ADD end to end: the real kilnd and kilnctl (`npm run build` first) build a Dockerfile that adds a
 * local archive, an http file (with and without --checksum) and a git tag, exported to a directory.
 */

const served = 'served over http\n';
const servedDigest = `sha256:${createHash('sha256').update(served).digest('hex')}`;

let work: string;
let kilnd: Kilnd;
let server: http.Server;
let httpBase: string;
let git: { url: string; stop(): Promise<void> };
let repo: TestRepo;

beforeAll(async () => {
  work = await tempDir('add-e2e');
  server = http.createServer((req, res) => {
    if (req.url === '/files/hello.txt') {
      res.writeHead(200, { 'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT' });
      res.end(served);
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  httpBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const gitRoot = path.join(work, 'git');
  await mkdir(gitRoot);
  repo = await createTestRepo(gitRoot);
  git = await startGitDaemon(gitRoot);
  kilnd = await startKilnd();
}, 60_000);

afterAll(async () => {
  await kilnd?.stop();
  await git?.stop();
  await new Promise<void>((r) => server.close(() => r()));
  if (kilnd) await rm(kilnd.root, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

async function build(name: string, dockerfile: string) {
  const ctx = path.join(work, name);
  await mkdir(path.join(ctx, 'tree', 'pkg'), { recursive: true });
  await writeFile(path.join(ctx, 'tree', 'pkg', 'lib.txt'), 'from the archive\n');
  execFileSync('tar', ['-czf', path.join(ctx, 'archive.tar.gz'), '-C', path.join(ctx, 'tree'), 'pkg']);
  await writeFile(path.join(ctx, 'Dockerfile'), dockerfile);
  const out = path.join(work, `${name}-out`);
  const r = await kilnctl([
    ...dockerfileBuildArgs(kilnd.addr, ctx),
    '--output',
    `type=local,dest=${out}`,
    '--progress',
    'plain',
  ]);
  return { ...r, out };
}

describe('ADD through kilnd and kilnctl', () => {
  it('adds a local archive, http files and a git tag', async () => {
    const r = await build(
      'ok',
      [
        'FROM scratch',
        'ADD archive.tar.gz /unpacked/',
        `ADD ${httpBase}/files/hello.txt /http/`,
        `ADD --checksum=${servedDigest} --chmod=0640 ${httpBase}/files/hello.txt /pinned.txt`,
        `ADD ${git.url}/repo.git#v1 /git/`,
        `ADD --keep-git-dir=true ${git.url}/repo.git#feature /gitkeep/`,
        '',
      ].join('\n'),
    );
    expect(r.code, r.stderr).toBe(0);
    // The archive was extracted, not copied.
    expect(await readFile(path.join(r.out, 'unpacked/pkg/lib.txt'), 'utf8')).toBe('from the archive\n');
    expect(await readdir(path.join(r.out, 'unpacked'))).toEqual(['pkg']);
    expect(await readFile(path.join(r.out, 'http/hello.txt'), 'utf8')).toBe(served);
    expect((await stat(path.join(r.out, 'http/hello.txt'))).mode & 0o777).toBe(0o600);
    expect(await readFile(path.join(r.out, 'pinned.txt'), 'utf8')).toBe(served);
    expect((await stat(path.join(r.out, 'pinned.txt'))).mode & 0o777).toBe(0o640);
    // v1 is the first commit; .git is dropped.
    expect(await readFile(path.join(r.out, 'git/README'), 'utf8')).toBe('first\n');
    expect(await readFile(path.join(r.out, 'git/sub/deep/file.txt'), 'utf8')).toBe('in a subdir\n');
    await expect(lstat(path.join(r.out, 'git/.git'))).rejects.toThrow(/ENOENT/);
    expect(await readFile(path.join(r.out, 'gitkeep/feature.txt'), 'utf8')).toBe('feature\n');
    expect((await lstat(path.join(r.out, 'gitkeep/.git'))).isDirectory()).toBe(true);
    expect(r.stderr).toContain(`downloading ${httpBase}/files/hello.txt`);
    expect(repo.commits.first).toMatch(/^[0-9a-f]{40}$/);
  }, 120_000);

  it('a checksum mismatch fails the build naming both digests', async () => {
    const wrong = `sha256:${'1'.repeat(64)}`;
    const r = await build(
      'mismatch',
      `FROM scratch\nADD --checksum=${wrong} ${httpBase}/files/hello.txt /x\n`,
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`expected ${wrong}, got ${servedDigest}`);
  }, 120_000);

  it('an unknown git ref fails the build clearly', async () => {
    const r = await build('badref', `FROM scratch\nADD ${git.url}/repo.git#nosuch /x\n`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('does not contain ref "nosuch"');
  }, 120_000);
});
