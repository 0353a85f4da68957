import { execFile } from 'node:child_process';
import type { Stats } from 'node:fs';
import {
  chmod,
  copyFile,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  readdir,
  readlink,
  rm,
  symlink,
  unlink,
} from 'node:fs/promises';
import path from 'node:path';
import { throwIfAborted } from '../../../proto/errors.js';
import { isErrno } from '../../../worker/fs/root-path.js';

/**
 * Applies what a step changed to a hardlink-shared copy of its root. The overlay's upper dir says
 * which paths changed; the merged view says what they are now. Files are always unlinked and written
 * anew (the output shares inodes with the immutable parent), directories are reconciled against the
 * merged listing, which also covers opaque directories without reading overlay xattrs.
 */
export async function syncOverlayChanges(
  upper: string,
  merged: string,
  output: string,
  signal: AbortSignal,
): Promise<void> {
  const links = new Map<string, string>();
  await syncDir('', signal);

  async function syncDir(rel: string, sig: AbortSignal): Promise<void> {
    const entries = await readdir(path.join(upper, rel));
    for (const name of entries) {
      throwIfAborted(sig);
      const r = rel === '' ? name : `${rel}/${name}`;
      const up = await lstat(path.join(upper, r));
      const out = path.join(output, r);
      if (up.isCharacterDevice() && up.rdev === 0) {
        await rm(out, { recursive: true, force: true });
        continue;
      }
      const cur = await lstatOrUndefined(path.join(merged, r));
      if (!cur) {
        await rm(out, { recursive: true, force: true });
        continue;
      }
      if (cur.isDirectory()) {
        const existing = await lstatOrUndefined(out);
        if (existing && !existing.isDirectory()) await unlink(out);
        if (!existing?.isDirectory()) await mkdir(out);
        await dropVanished(r);
        await syncDir(r, sig);
        await applyMeta(out, cur);
        continue;
      }
      await rm(out, { recursive: true, force: true });
      await writeEntry(path.join(merged, r), out, cur);
    }
  }

  /** Children of an output directory that the merged view no longer has. */
  async function dropVanished(rel: string): Promise<void> {
    const want = new Set(await readdir(path.join(merged, rel)));
    for (const name of await readdir(path.join(output, rel))) {
      if (!want.has(name)) await rm(path.join(output, rel, name), { recursive: true, force: true });
    }
  }

  async function writeEntry(src: string, dst: string, st: Stats): Promise<void> {
    if (st.isFile() && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first !== undefined) {
        await link(first, dst);
        return;
      }
      links.set(key, dst);
    }
    if (st.isFile()) await copyFile(src, dst);
    else if (st.isSymbolicLink()) await symlink(await readlink(src), dst);
    else if (st.isFIFO()) await mknod(dst, 'p');
    else if (st.isCharacterDevice() || st.isBlockDevice())
      await mknod(dst, st.isCharacterDevice() ? 'c' : 'b', st.rdev);
    else return; // sockets do not survive a step, as in an image layer
    await applyMeta(dst, st);
  }
}

async function applyMeta(p: string, st: Stats): Promise<void> {
  await lchown(p, st.uid, st.gid);
  if (!st.isSymbolicLink()) await chmod(p, st.mode & 0o7777);
  await lutimes(p, st.atime, st.mtime);
}

function mknod(p: string, type: 'p' | 'c' | 'b', rdev = 0): Promise<void> {
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | ((Math.floor(rdev / 4096) & 0xfff00) >>> 0);
  const args = type === 'p' ? [p, 'p'] : [p, type, String(major), String(minor)];
  return new Promise((resolve, reject) => {
    execFile('mknod', args, (err) => (err ? reject(err) : resolve()));
  });
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await lstat(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
    throw err;
  }
}
