import { constants } from 'node:fs';
import { chmod, lchown, lstat, mkdir, open, rm as removePath, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';
import { cleanPath } from './clean-path.js';
import { FileActionError } from './file-action-error.js';
import type { MkdirOptions, MkfileOptions, RmOptions, SymlinkOptions } from './file-action-types.js';
import { setOwner, setTimes } from './file-metadata.js';
import { lstatOrUndefined, mkdirAll } from './mkdir-all.js';
import { isErrno, resolveInRoot, rooted } from './root-path.js';
import { resolveWildcards } from './wildcard.js';

export { copy } from './copy.js';

/**
 * FileOp mkdir/mkfile/rm on a destination tree `root`, with BuildKit's semantics (backend.go).
 * Every path resolves inside root, and existing files are never written in place: a snapshot made
 * with share 'hardlink' shares their inodes with its parent.
 */

export async function mkdirAction(root: string, opts: MkdirOptions, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  const p = rooted(opts.path);
  try {
    const host = await resolveInRoot(root, p);
    if (opts.makeParents) {
      await mkdirAll(host, opts.mode & 0o7777, opts.owner, opts.timestampNs);
      return;
    }
    try {
      await mkdir(host);
    } catch (err) {
      // BuildKit treats an existing path as done, whatever it is.
      if (isErrno(err, 'EEXIST')) return;
      throw err;
    }
    await setOwner(host, opts.owner);
    await chmod(host, opts.mode & 0o7777);
    if (opts.timestampNs !== undefined) await setTimes(host, opts.timestampNs);
  } catch (err) {
    throw FileActionError.wrap('mkdir', p, err);
  }
}

export async function mkfileAction(root: string, opts: MkfileOptions, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  const p = rooted(opts.path);
  if (p === '/') throw new FileActionError('mkfile', p, 'is a directory');
  try {
    const host = await resolveInRoot(root, p);
    const existing = await lstatOrUndefined(host);
    if (existing?.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (existing) await unlink(host);
    // O_EXCL|O_NOFOLLOW: if anything appeared at the path since resolution, fail instead of following it.
    const fh = await open(
      host,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      opts.mode & 0o777,
    );
    try {
      await fh.writeFile(opts.data);
      if (opts.owner) await fh.chown(opts.owner.uid, opts.owner.gid);
      await fh.chmod(opts.mode & 0o7777);
    } finally {
      await fh.close();
    }
    if (opts.timestampNs !== undefined) await setTimes(host, opts.timestampNs);
  } catch (err) {
    throw FileActionError.wrap('mkfile', p, err);
  }
}

export async function rmAction(root: string, opts: RmOptions, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  if (!opts.allowWildcard) {
    await rmPath(root, opts.path, opts.allowNotFound);
    return;
  }
  let matches: string[];
  try {
    matches = await resolveWildcards(root, opts.path, signal);
  } catch (err) {
    throw FileActionError.wrap('rm', rooted(opts.path), err);
  }
  for (const m of matches) await rmPath(root, m, opts.allowNotFound);
}

async function rmPath(root: string, src: string, allowNotFound: boolean): Promise<void> {
  const p = rooted(src);
  if (p === '/') throw new FileActionError('rm', src, 'cannot remove the root directory');
  try {
    // The parent is resolved; the last component is removed itself, never what it links to.
    const dir = await resolveInRoot(root, path.posix.dirname(p));
    const host = path.join(dir, path.posix.basename(p));
    if (!allowNotFound) await lstat(host);
    await removePath(host, { recursive: true, force: true });
  } catch (err) {
    throw FileActionError.wrap('rm', cleanPath(p), err);
  }
}

/** HEAD+ FileActionSymlink: `newpath` becomes a symlink to `oldpath` (stored verbatim). */
export async function symlinkAction(root: string, opts: SymlinkOptions, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  const p = rooted(opts.newpath);
  if (p === '/') throw new FileActionError('symlink', p, 'file exists');
  try {
    const dir = await resolveInRoot(root, path.posix.dirname(p));
    const host = path.join(dir, path.posix.basename(p));
    await symlink(opts.oldpath, host);
    if (opts.owner) await lchown(host, opts.owner.uid, opts.owner.gid);
    if (opts.timestampNs !== undefined) await setTimes(host, opts.timestampNs);
  } catch (err) {
    throw FileActionError.wrap('symlink', p, err);
  }
}
