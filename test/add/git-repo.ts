import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

/** A test repository: main (2 commits), branch `feature`, tags `v1` (annotated) and `light`. */
export interface TestRepo {
  readonly dir: string;
  readonly commits: { readonly first: string; readonly main: string; readonly feature: string };
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=kiln', '-c', 'user.email=kiln@test', ...args], {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', HOME: cwd, GIT_CONFIG_NOSYSTEM: '1' },
  })
    .toString()
    .trim();
}

export async function createTestRepo(parent: string, name = 'repo.git'): Promise<TestRepo> {
  const dir = path.join(parent, name);
  await mkdir(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  await writeFile(path.join(dir, 'README'), 'first\n');
  await mkdir(path.join(dir, 'sub', 'deep'), { recursive: true });
  await writeFile(path.join(dir, 'sub', 'deep', 'file.txt'), 'in a subdir\n');
  await writeFile(path.join(dir, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'first');
  const first = git(dir, 'rev-parse', 'HEAD');
  git(dir, 'tag', '-a', 'v1', '-m', 'version 1');
  git(dir, 'tag', 'light');
  await writeFile(path.join(dir, 'README'), 'second\n');
  git(dir, 'commit', '-q', '-am', 'second');
  const main = git(dir, 'rev-parse', 'HEAD');
  git(dir, 'checkout', '-q', '-b', 'feature');
  await writeFile(path.join(dir, 'feature.txt'), 'feature\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'feature');
  const feature = git(dir, 'rev-parse', 'HEAD');
  git(dir, 'checkout', '-q', 'main');
  return { dir, commits: { first, main, feature } };
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** `git daemon` serving every repository under basePath on 127.0.0.1; stop() kills it. */
export async function startGitDaemon(basePath: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'git',
    [
      'daemon',
      '--export-all',
      '--reuseaddr',
      `--base-path=${basePath}`,
      '--listen=127.0.0.1',
      `--port=${port}`,
      basePath,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // Ready when it accepts connections.
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) break;
    if (i > 100 || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error('git daemon did not start');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `git://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
