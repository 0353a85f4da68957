/**
 * Debian's dockerd (package docker.io) on a private socket and data root, for tests that check
 * what `docker load` and `docker run` make of Kiln's output.
 *
 *   const d = await startDockerd();
 *   d.docker(['load', '-i', tarball]);   // runs /usr/bin/docker -H unix://<sock> …
 *   await d.stop();                      // stops dockerd and removes its state
 *
 * No iptables, no bridge: containers run with `--network none` (or host).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const dockerdBinary = '/usr/sbin/dockerd';
/** Debian's client, not whatever `docker` comes first on PATH. */
export const dockerBinary = '/usr/bin/docker';

export interface TestDockerd {
  /** dockerd's API socket. */
  readonly socket: string;
  docker(args: readonly string[]): string;
  stop(): Promise<void>;
}

export async function startDockerd(): Promise<TestDockerd> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kiln-dockerd-'));
  const sock = path.join(dir, 'docker.sock');
  const child: ChildProcess = spawn(
    dockerdBinary,
    [
      '--iptables=false',
      '--bridge=none',
      '--data-root',
      path.join(dir, 'root'),
      '--exec-root',
      path.join(dir, 'exec'),
      '--pidfile',
      path.join(dir, 'docker.pid'),
      '--host',
      `unix://${sock}`,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const docker = (args: readonly string[]) =>
    execFileSync(dockerBinary, ['-H', `unix://${sock}`, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    // dockerd may leave its overlay mounts behind when killed mid-way.
    try {
      execFileSync('sh', [
        '-c',
        `grep -o '${dir}[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l`,
      ]);
    } catch {
      // Nothing mounted.
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 150; i++) {
    try {
      docker(['version']);
      return { socket: sock, docker, stop };
    } catch {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await stop();
  throw new Error('dockerd did not start');
}
