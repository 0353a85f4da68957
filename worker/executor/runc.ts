import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CanceledError, KilnError, throwIfAborted } from '../../proto/errors.js';
import { hostsFile, resolvConf } from './etc-files.js';
import { ociSpec } from './oci-spec.js';
import type { ExecRequest, Executor } from './types.js';

export class RuncError extends KilnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTERNAL', message, options);
    this.name = 'RuncError';
  }
}

export interface RuncExecutorOptions {
  /** runc's --root (container state), under the daemon's --root. Bundles live beside it. */
  readonly stateDir: string;
  readonly binary?: string;
  /** Parent cgroup of every container; default `kiln`. */
  readonly cgroupParent?: string;
}

export interface RuncExecutor extends Executor {
  /** Kills and deletes containers left in stateDir (kilnd was killed mid-build); removes stale bundles. */
  cleanupStale(signal: AbortSignal): Promise<void>;
  /** Ids of containers runc knows in stateDir. */
  list(signal: AbortSignal): Promise<string[]>;
}

interface CmdResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs each step with `runc run` in the foreground (BuildKit executor/runcexecutor): the container's
 * stdio are runc's own pipes, runc's exit status is the process's, and the container is deleted on
 * every path, including cancellation.
 */
export function createRuncExecutor(opts: RuncExecutorOptions): RuncExecutor {
  const binary = opts.binary ?? 'runc';
  const stateDir = path.resolve(opts.stateDir);
  const bundlesDir = `${stateDir}-bundles`;
  const cgroupParent = opts.cgroupParent ?? 'kiln';

  const runc = (args: readonly string[]): Promise<CmdResult> =>
    new Promise((resolve) => {
      execFile(binary, ['--root', stateDir, ...args], (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      });
    });

  async function list(signal: AbortSignal): Promise<string[]> {
    throwIfAborted(signal);
    const r = await runc(['list', '--format', 'json']);
    if (r.code !== 0) throw new RuncError(`runc list: ${r.stderr.trim()}`);
    const parsed = JSON.parse(r.stdout.trim() || 'null') as { id: string }[] | null;
    return (parsed ?? []).map((c) => c.id);
  }

  async function destroy(id: string): Promise<void> {
    await runc(['kill', id, 'KILL']);
    const r = await runc(['delete', '--force', id]);
    if (r.code !== 0 && !/does not exist|not exist/i.test(r.stderr))
      throw new RuncError(`runc delete ${id}: ${r.stderr.trim()}`);
  }

  async function run(req: ExecRequest): Promise<{ exitCode: number }> {
    throwIfAborted(req.signal);
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    await mkdir(bundlesDir, { recursive: true, mode: 0o700 });
    const id = `kiln-${randomBytes(12).toString('hex')}`;
    const bundle = await mkdtemp(path.join(bundlesDir, `${id}-`));
    let child: ChildProcess | undefined;
    try {
      const etc = {
        hosts: path.join(bundle, 'hosts'),
        resolvConf: path.join(bundle, 'resolv.conf'),
        hostname: path.join(bundle, 'hostname'),
      };
      await writeFile(etc.hosts, hostsFile(req.hostname, req.extraHosts), { mode: 0o644 });
      await writeFile(etc.resolvConf, await resolvConf(req.network), { mode: 0o644 });
      await writeFile(etc.hostname, `${req.hostname}\n`, { mode: 0o644 });
      const spec = ociSpec({ request: req, etc, cgroupsPath: `/${cgroupParent}/${id}` });
      await writeFile(path.join(bundle, 'config.json'), JSON.stringify(spec));
      throwIfAborted(req.signal);
      const logFile = path.join(bundle, 'runc.log');
      const proc = spawn(
        binary,
        ['--root', stateDir, '--log', logFile, '--log-format', 'json', 'run', '--bundle', bundle, id],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child = proc;
      proc.stdout.on('data', (b: Buffer) => req.stdout(b));
      proc.stderr.on('data', (b: Buffer) => req.stderr(b));
      const exited = new Promise<number>((resolve, reject) => {
        proc.once('error', reject);
        proc.once('close', (code, sig) => resolve(code ?? 128 + signalNumber(sig)));
      });
      const onAbort = () => void killUntilGone(id, proc, exited);
      req.signal.addEventListener('abort', onAbort, { once: true });
      let exitCode: number;
      try {
        exitCode = await exited;
      } finally {
        req.signal.removeEventListener('abort', onAbort);
      }
      if (req.signal.aborted) {
        const reason: unknown = req.signal.reason;
        throw reason instanceof Error ? reason : new CanceledError(`canceled: ${String(reason)}`);
      }
      const runcErr = await runcFailure(logFile);
      if (runcErr !== undefined) throw new RuncError(`runc run failed: ${runcErr}`);
      return { exitCode };
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await destroy(id).catch(() => {});
      await rm(bundle, { recursive: true, force: true });
    }
  }

  /** runc kill fails until the container exists; retry until `runc run` itself has exited. */
  async function killUntilGone(id: string, proc: ChildProcess, exited: Promise<number>): Promise<void> {
    let done = false;
    void exited.then(
      () => (done = true),
      () => (done = true),
    );
    for (let attempt = 0; !done; attempt++) {
      await runc(['kill', id, 'KILL']);
      if (attempt >= 50) proc.kill('SIGKILL');
      await Promise.race([exited.catch(() => 0), delay(100)]);
    }
  }

  async function cleanupStale(signal: AbortSignal): Promise<void> {
    for (const id of await list(signal)) await destroy(id);
    await rm(bundlesDir, { recursive: true, force: true });
  }

  return { run, list, cleanupStale };
}

async function runcFailure(logFile: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(logFile, 'utf8');
  } catch {
    return undefined;
  }
  const errors: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if ((entry.level === 'error' || entry.level === 'fatal') && entry.msg) errors.push(entry.msg);
    } catch {
      // A non-JSON line is runc noise, not a failure.
    }
  }
  return errors.length > 0 ? errors.join('; ') : undefined;
}

const SIGNALS: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGHUP: 1 };

function signalNumber(sig: NodeJS.Signals | null): number {
  return sig === null ? 0 : (SIGNALS[sig] ?? 0);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
