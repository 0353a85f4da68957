import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root; e2e tests run the built binaries from dist/ (npm test builds first). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const kilndBin = path.join(repoRoot, 'dist/daemon/cmd/kilnd.js');
/** What `bin` installs: the bundled kilnctl (client/tools/bundle-kilnctl.mjs). */
export const kilnctlBin = path.join(repoRoot, 'dist/kilnctl.mjs');

export interface Kilnd {
  readonly addr: string;
  readonly root: string;
  readonly socket: string;
  /** Everything the daemon printed so far. */
  output(): string;
  /** SIGTERM and wait for a clean exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, as a crash. */
  kill9(): Promise<void>;
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `kiln-${prefix}-`));
}

function waitForSocket(
  socket: string,
  child: ChildProcess,
  out: () => string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) {
        reject(new Error(`kilnd exited with ${child.exitCode}:\n${out()}`));
        return;
      }
      const s = net.connect(socket);
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        if (Date.now() > deadline) reject(new Error(`kilnd did not listen on ${socket}:\n${out()}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** Starts a real kilnd on a temp socket; `root` defaults to a fresh temp dir. */
export async function startKilnd(opts: { root?: string; args?: string[] } = {}): Promise<Kilnd> {
  const root = opts.root ?? (await tempDir('root'));
  const sockDir = await tempDir('sock');
  const socket = path.join(sockDir, 'kilnd.sock');
  const addr = `unix://${socket}`;
  const child = spawn(
    process.execPath,
    [kilndBin, '--addr', addr, '--root', root, '--debug', ...(opts.args ?? [])],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitForSocket(socket, child, () => out);
  return {
    addr,
    root,
    socket,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      await rm(sockDir, { recursive: true, force: true });
      return code;
    },
    async kill9() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * kilnctl's arguments for a Dockerfile build on `addr` whose context and Dockerfile are both the
 * directory `ctx` (what `buildctl build --frontend dockerfile.v0 --local context=… --local
 * dockerfile=…` takes); `rest` follows (`--output`, `--opt`, `--progress` …).
 */
export function dockerfileBuildArgs(addr: string, ctx: string, ...rest: string[]): string[] {
  const locals = ['--local', `context=${ctx}`, '--local', `dockerfile=${ctx}`];
  return ['--addr', addr, 'build', '--frontend', 'dockerfile.v0', ...locals, ...rest];
}

/** Runs the real kilnctl binary. */
export function kilnctl(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: Buffer; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [kilnctlBin, ...args], {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd ?? repoRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input);
  });
}
