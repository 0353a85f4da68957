/**
 * A real Docker registry for tests (Debian package `docker-registry`).
 *
 *   const reg = await startRegistry();   // reg.host === '127.0.0.1:PORT' (plain HTTP)
 *   ...push/pull `${reg.host}/repo:tag`...
 *   await reg.stop();                    // kills the process and removes its storage
 *
 * Storage is a fresh temp directory per registry; deletes are enabled. Call stop in afterAll/finally.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  /** Where the registry keeps its data. */
  readonly dir: string;
  stop(): Promise<void>;
}

export const registryBinary = '/usr/bin/docker-registry';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

export async function startRegistry(opts: { timeoutMs?: number } = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kiln-registry-'));
  let child: ChildProcess | undefined;
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child?.kill('SIGKILL'), 3000);
      await exited(child);
      clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const config = [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
      '',
    ].join('\n');
    const configPath = path.join(dir, 'config.yml');
    await writeFile(configPath, config);
    let stderr = '';
    child = spawn(registryBinary, ['serve', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const spawned = child;
    const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
    for (;;) {
      if (spawned.exitCode !== null)
        throw new Error(`docker-registry exited (${spawned.exitCode}): ${stderr}`);
      try {
        const res = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`docker-registry did not answer on ${host}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { host, dir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
