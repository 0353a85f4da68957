import { chmod, lstat, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Owner } from './file-action-types.js';
import { setOwner, setTimes } from './file-metadata.js';
import { isErrno } from './root-path.js';

/**
 * fsutil's MkdirAll on an already-resolved host path: creates each missing directory with `mode`,
 * then owner and time; existing directories are left untouched. A non-directory (including a
 * symlink, which resolution has already expanded) in the way is ENOTDIR.
 */
export async function mkdirAll(
  hostPath: string,
  mode: number,
  owner: Owner | undefined,
  timestampNs: bigint | undefined,
): Promise<void> {
  const st = await lstatOrUndefined(hostPath);
  if (st) {
    if (st.isDirectory()) return;
    throw Object.assign(new Error(`mkdir ${hostPath}: not a directory`), { code: 'ENOTDIR' });
  }
  const parent = path.dirname(hostPath);
  if (parent !== hostPath) await mkdirAll(parent, mode, owner, timestampNs);
  try {
    await mkdir(hostPath);
  } catch (err) {
    if (isErrno(err, 'EEXIST') && (await lstat(hostPath)).isDirectory()) return;
    throw err;
  }
  await setOwner(hostPath, owner);
  // Explicit chmod: the daemon's umask must not change what the build sees.
  await chmod(hostPath, mode & 0o7777);
  if (timestampNs !== undefined) await setTimes(hostPath, timestampNs);
}

export async function lstatOrUndefined(p: string) {
  try {
    return await lstat(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}
