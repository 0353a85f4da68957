import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { KilnError } from '../../proto/errors.js';
import { cleanPath } from './clean-path.js';

/** Linux's own limit on symlinks followed while resolving one path. */
const MAX_LINKS = 255;

export class SymlinkLoopError extends KilnError {
  constructor(readonly target: string) {
    super('FAILED_PRECONDITION', `${target}: too many levels of symbolic links`);
    this.name = 'SymlinkLoopError';
  }
}

/**
 * Resolves `unsafePath` as if `root` were `/`: symlinks (absolute ones restart at root, relative
 * ones at their directory) and `..` can never climb above root, like containerd's fs.RootPath. The
 * result is an absolute host path that is lexically inside root. Components that do not exist are
 * kept literally. With followLast false a symlink in the last component is returned itself.
 */
export async function resolveInRoot(
  root: string,
  unsafePath: string,
  opts: { followLast?: boolean } = {},
): Promise<string> {
  const followLast = opts.followLast ?? true;
  const absRoot = path.resolve(root);
  const pending = splitParts(unsafePath);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = joinRoot(absRoot, [...resolved, part]);
    if (pending.length === 0 && !followLast) {
      resolved.push(part);
      break;
    }
    const st = await lstatOrUndefined(candidate);
    if (st?.isSymbolicLink()) {
      links++;
      if (links > MAX_LINKS) throw new SymlinkLoopError(unsafePath);
      const target = await readlink(candidate);
      if (target.startsWith('/')) resolved.length = 0;
      pending.unshift(...splitParts(target));
      continue;
    }
    resolved.push(part);
  }
  return joinRoot(absRoot, resolved);
}

/** The in-root path of `p` relative to root, `/`-rooted, for messages and keys. */
export function relativeToRoot(root: string, hostPath: string): string {
  const rel = path.relative(path.resolve(root), hostPath);
  return rel === '' ? '/' : `/${rel}`;
}

/** Whether `hostPath` is root itself or lexically below it. */
export function isInsideRoot(root: string, hostPath: string): boolean {
  const rel = path.relative(path.resolve(root), path.resolve(hostPath));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function splitParts(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

function joinRoot(root: string, parts: readonly string[]): string {
  return parts.length === 0 ? root : `${root === '/' ? '' : root}/${parts.join('/')}`;
}

async function lstatOrUndefined(p: string) {
  try {
    return await lstat(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
    throw err;
  }
}

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** Go's filepath.Join("/", p): cleaned and rooted. */
export function rooted(p: string): string {
  return cleanPath(`/${p}`);
}
