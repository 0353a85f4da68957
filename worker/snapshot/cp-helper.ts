import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { SnapshotterError } from './errors.js';

interface Job {
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  /** cp's pid, which an abort kills. */
  pid?: number;
  /** The subshell's pid: the shell reaps it with `wait` once it reported. */
  subshell?: number;
}

/**
 * Runs `cp` from one long-lived `sh` instead of spawning it from kilnd: forking the daemon (hundreds
 * of MB mapped) blocks its event loop for milliseconds per snapshot, forking a small shell costs
 * next to nothing. Each job runs in the shell's background, so copies still run side by side; the
 * shell reports a job's pid (an abort kills it) and its exit status on stdout. stderr goes to a file
 * the caller names, read back only when cp fails.
 */
export class CpRunner {
  #shell: { child: ChildProcess; stdin: Writable; stdout: Readable } | undefined;
  /** The shell could not be started: spawn cp directly from now on. */
  #direct = false;
  readonly #jobs = new Map<number, Job>();
  #nextId = 0;
  #pending = '';

  /** `cp <args>`, stderr to `errFile` (removed again on success). Rejects with the signal's reason on abort. */
  async run(args: readonly string[], errFile: string, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const shell = this.#direct ? undefined : this.#ensureShell();
    if (!shell) return runDirect('cp', args, signal);
    const id = ++this.#nextId;
    const done = new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const pid = this.#jobs.get(id)?.pid;
        if (pid !== undefined) killQuietly(pid);
      };
      this.#jobs.set(id, { signal, onAbort, resolve, reject });
      signal.addEventListener('abort', onAbort, { once: true });
    });
    this.#ref(true);
    const cmd = ['cp', ...args].map(shellQuote).join(' ');
    // The subshell waits for cp so `$?` is cp's status; `$!` is cp's own pid, which abort kills.
    shell.stdin.write(
      `( ${cmd} 2>${shellQuote(errFile)} & echo "${id} p $!"; wait $!; echo "${id} r $?" ) & echo "${id} s $!"\n`,
    );
    try {
      await done;
    } catch (err) {
      if (signal.aborted)
        throw signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason));
      // The shell never ran (none on this host?), so neither did cp: spawn cp ourselves.
      if (err instanceof ShellLost && err.neverSpawned) return runDirect('cp', args, signal);
      if (!(err instanceof ExitStatus)) throw err;
      const stderr = (await readFile(errFile, 'utf8').catch(() => '')).slice(0, 4096).trim();
      throw new SnapshotterError(`cp ${args.join(' ')} failed (${err.status}): ${stderr}`);
    }
    await rm(errFile, { force: true });
  }

  #ensureShell(): { stdin: Writable; stdout: Readable } | undefined {
    if (this.#shell) return this.#shell;
    let child: ChildProcess;
    try {
      // Its own process group: if the shell dies, its cp jobs (same group) die with it.
      child = spawn('sh', ['-s'], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    } catch {
      this.#direct = true;
      return undefined;
    }
    const { stdin, stdout } = child;
    if (!stdin || !stdout) {
      child.kill('SIGKILL');
      this.#direct = true;
      return undefined;
    }
    const shell = { child, stdin, stdout };
    this.#shell = shell;
    stdout.setEncoding('utf8');
    stdout.on('data', (chunk: string) => this.#onOutput(chunk));
    // A write after the shell died fails here rather than as an unhandled error.
    stdin.on('error', () => undefined);
    let spawned = false;
    child.once('spawn', () => {
      spawned = true;
    });
    child.on('error', (err) => {
      // No shell on this host: later copies spawn cp themselves.
      if (!spawned) this.#direct = true;
      this.#lost(shell, err, !spawned);
    });
    child.on('exit', (code, sig) =>
      this.#lost(shell, new SnapshotterError(`cp helper shell exited (${code ?? sig})`), false),
    );
    this.#ref(false);
    return shell;
  }

  #onOutput(chunk: string): void {
    this.#pending += chunk;
    let nl: number;
    while ((nl = this.#pending.indexOf('\n')) >= 0) {
      const line = this.#pending.slice(0, nl);
      this.#pending = this.#pending.slice(nl + 1);
      const [idText, kind, value] = line.split(' ');
      const id = Number(idText);
      const job = this.#jobs.get(id);
      if (kind === 's' && !job) {
        this.#shell?.stdin.write(`wait ${Number(value)}\n`); // it already reported
      } else if (!job) {
        continue;
      } else if (kind === 's') {
        job.subshell = Number(value);
      } else if (kind === 'p') {
        job.pid = Number(value);
        if (job.signal.aborted) killQuietly(job.pid);
      } else if (kind === 'r') {
        // A non-interactive sh reaps background jobs only when told to wait for them; the subshell
        // printed this as its last act, so the wait is immediate.
        if (job.subshell !== undefined) this.#shell?.stdin.write(`wait ${job.subshell}\n`);
        this.#settle(id, job, value === '0' ? undefined : new ExitStatus(value ?? '?'));
      }
    }
  }

  #settle(id: number, job: Job, err: unknown): void {
    this.#jobs.delete(id);
    job.signal.removeEventListener('abort', job.onAbort);
    if (err === undefined) job.resolve();
    else job.reject(err);
    if (this.#jobs.size === 0) this.#ref(false);
  }

  /** The shell died: its jobs' outcome is unknown, so they fail; the next run starts a new shell. */
  #lost(shell: { child: ChildProcess }, err: unknown, neverSpawned: boolean): void {
    if (this.#shell?.child !== shell.child) return;
    this.#shell = undefined;
    this.#pending = '';
    // Jobs whose pid line had not arrived yet are still in the shell's process group.
    if (shell.child.pid !== undefined) killQuietly(-shell.child.pid);
    for (const [id, job] of [...this.#jobs]) {
      if (job.pid !== undefined) killQuietly(job.pid);
      this.#settle(id, job, new ShellLost(neverSpawned, err));
    }
  }

  /** The shell keeps the daemon alive only while a copy runs. */
  #ref(on: boolean): void {
    const shell = this.#shell;
    if (!shell) return;
    const stdout = shell.stdout as Readable & { ref?: () => void; unref?: () => void };
    const stdin = shell.stdin as Writable & { ref?: () => void; unref?: () => void };
    if (on) {
      shell.child.ref();
      stdout.ref?.();
      stdin.ref?.();
    } else {
      shell.child.unref();
      stdout.unref?.();
      stdin.unref?.();
    }
  }
}

class ShellLost extends SnapshotterError {
  constructor(
    readonly neverSpawned: boolean,
    cause: unknown,
  ) {
    super('cp helper shell died', { cause });
  }
}

class ExitStatus extends Error {
  constructor(readonly status: string) {
    super(`exit status ${status}`);
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** POSIX sh single quotes: everything literal, a `'` becomes `'\''`. */
function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The fallback: cp spawned from kilnd itself. */
export function runDirect(cmd: string, args: readonly string[], signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], signal, killSignal: 'SIGKILL' });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    child.on('error', (err) => reject(signal.aborted ? (signal.reason ?? err) : err));
    child.on('close', (code, sig) => {
      if (signal.aborted)
        reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      else if (code === 0) resolve();
      else reject(new SnapshotterError(`${cmd} ${args.join(' ')} failed (${code ?? sig}): ${stderr.trim()}`));
    });
  });
}
