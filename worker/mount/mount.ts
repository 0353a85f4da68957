import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { KilnError } from '../../proto/errors.js';

/**
 * Kernel mounts through the `mount`/`umount` commands (util-linux): Node has no mount(2), and the
 * commands give readable errors. Every helper is safe to call again on cleanup paths.
 */

export class MountError extends KilnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTERNAL', message, options);
    this.name = 'MountError';
  }
}

export interface OverlayOptions {
  /** Lower directories, top first (overlayfs' own order). */
  readonly lower: readonly string[];
  readonly upper: string;
  readonly work: string;
  readonly target: string;
}

function run(cmd: string, args: readonly string[], signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], signal ? { signal } : {}, (err, _stdout, stderr) => {
      if (err) {
        const detail = String(stderr).trim() || err.message;
        reject(new MountError(`${cmd} ${args.join(' ')}: ${detail}`, { cause: err }));
      } else resolve();
    });
  });
}

/** Overlay option values must not contain the separators overlayfs parses. */
function checkOverlayPath(p: string): string {
  if (/[,:\\]/.test(p)) throw new MountError(`overlay path ${JSON.stringify(p)} contains ',', ':' or '\\'`);
  return p;
}

export async function mountOverlay(opts: OverlayOptions, signal?: AbortSignal): Promise<void> {
  if (opts.lower.length === 0) throw new MountError('overlay needs at least one lower directory');
  const data = [
    `lowerdir=${opts.lower.map(checkOverlayPath).join(':')}`,
    `upperdir=${checkOverlayPath(opts.upper)}`,
    `workdir=${checkOverlayPath(opts.work)}`,
  ].join(',');
  await run('mount', ['-t', 'overlay', 'overlay', '-o', data, opts.target], signal);
}

export async function mountTmpfs(
  target: string,
  opts: { sizeBytes?: number; mode?: number } = {},
  signal?: AbortSignal,
): Promise<void> {
  const data = ['nosuid', 'nodev'];
  if (opts.sizeBytes !== undefined && opts.sizeBytes > 0) data.push(`size=${Math.ceil(opts.sizeBytes)}`);
  if (opts.mode !== undefined) data.push(`mode=${(opts.mode & 0o7777).toString(8)}`);
  await run('mount', ['-t', 'tmpfs', '-o', data.join(','), 'tmpfs', target], signal);
}

/** Unmounts target (lazily when busy); a path that is not a mount point is fine. */
export async function unmount(target: string): Promise<void> {
  const abs = path.resolve(target);
  for (;;) {
    const mounted = await listMountsUnder(abs);
    if (!mounted.includes(abs)) return;
    try {
      await run('umount', [abs]);
    } catch (err) {
      // A process that is still leaving may hold it for a moment; detach instead of failing cleanup.
      await run('umount', ['-l', abs]).catch(() => {
        throw err;
      });
    }
  }
}

/** Unmounts every mount at or below prefix, deepest first. */
export async function unmountAll(prefix: string): Promise<void> {
  const mounts = await listMountsUnder(prefix);
  mounts.sort((a, b) => b.length - a.length);
  for (const m of mounts) await unmount(m);
}

/** Mount points at or below prefix, from /proc/self/mountinfo (octal escapes decoded). */
export async function listMountsUnder(prefix: string): Promise<string[]> {
  const abs = path.resolve(prefix);
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    const mp = field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
    if (mp === abs || mp.startsWith(abs.endsWith('/') ? abs : `${abs}/`)) out.push(mp);
  }
  return out;
}
