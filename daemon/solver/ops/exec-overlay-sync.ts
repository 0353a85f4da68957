import { execFile } from 'node:child_process';
import type { Stats } from 'node:fs';
import {
  chmodSync,
  copyFileSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  statSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { throwIfAborted } from '../../../proto/errors.js';
import { isErrno } from '../../../worker/fs/root-path.js';
import { TimeSlice } from '../../../worker/fs/time-slice.js';

/**
 * Applies what a step changed to a hardlink-shared copy of its root. The overlay's upper dir says
 * which paths changed; the merged view says what they are now. Existing output files are never
 * written in place (they share inodes with the immutable parent): they are replaced.
 *
 * The upper dir belongs to this step alone and is thrown away afterwards, so when it shares a
 * filesystem with the output its files are moved (rename) rather than copied: a RUN that writes
 * 20,000 small files costs 20,000 renames instead of 20,000 copies plus an rm of the upper dir.
 * Deletes, opaque directories (output entries the merged view no longer lists) and new
 * directories are handled while the overlay is mounted; the renames happen after `unmountMerged`,
 * because changing an upper dir under a live overlay is undefined behaviour.
 *
 * Files overlayfs may not hold in full in the upper dir (metacopy: size without data blocks) and
 * entries that only the merged view shows (redirected directories) are copied from the merged view.
 */
export async function syncOverlayChanges(
  upper: string,
  merged: string,
  output: string,
  signal: AbortSignal,
  unmountMerged: () => Promise<void>,
): Promise<void> {
  const slice = new TimeSlice();
  const canMove = statSync(upper).dev === statSync(output).dev;
  /** Upper paths to rename into the output once the overlay is gone. */
  const moves: string[] = [];
  /** Directories whose metadata is set last (moves into them change their mtime). */
  const dirMeta: { rel: string; st: Stats }[] = [];
  const links = new Map<string, string>();

  await syncDir('', true);
  await unmountMerged();
  for (const rel of moves) {
    await tick();
    await moveEntry(rel);
  }
  for (let i = dirMeta.length - 1; i >= 0; i--) {
    await tick();
    const d = dirMeta[i] as { rel: string; st: Stats };
    applyMeta(path.join(output, d.rel), d.st);
  }

  async function tick(): Promise<void> {
    throwIfAborted(signal);
    if (slice.due()) await slice.pause();
  }

  /** `existed`: the output already had this directory (a copy of the lower one). */
  async function syncDir(rel: string, existed: boolean): Promise<void> {
    const upperNames = readdirSync(path.join(upper, rel));
    const mergedNames = new Set(readdirSync(path.join(merged, rel)));
    const outNames = new Set(existed ? readdirSync(path.join(output, rel)) : []);
    // Output entries the merged view lost: opaque directory contents (whiteouts come below).
    for (const name of outNames) {
      if (!mergedNames.has(name)) await removeOutput(join(rel, name));
    }
    const inUpper = new Set(upperNames);
    for (const name of upperNames) {
      await tick();
      const r = join(rel, name);
      const up = lstatSync(path.join(upper, r));
      if (up.isCharacterDevice() && up.rdev === 0) {
        await removeOutput(r);
        continue;
      }
      if (!mergedNames.has(name)) {
        await removeOutput(r);
        continue;
      }
      if (up.isDirectory()) {
        const out = lstatOrUndefined(path.join(output, r));
        if (out && !out.isDirectory()) unlinkSync(path.join(output, r));
        dirMeta.push({ rel: r, st: up });
        if (!out?.isDirectory() && canMove && (await selfContained(r))) {
          moves.push(r); // a directory only this step made: one rename for the whole tree
          continue;
        }
        if (!out?.isDirectory()) mkdirSync(path.join(output, r));
        await syncDir(r, out?.isDirectory() ?? false);
        continue;
      }
      if (up.isSocket()) {
        await removeOutput(r); // sockets do not survive a step, as in an image layer
        continue;
      }
      // size without blocks: possibly a metacopy upper whose data is still in the lower dir.
      const partial = up.isFile() && up.size > 0 && up.blocks === 0;
      if (canMove && !partial) moves.push(r);
      else await copyFromMerged(r);
    }
    // Entries only the merged view shows and the output lacks (a redirected directory).
    for (const name of mergedNames) {
      if (!inUpper.has(name) && !outNames.has(name)) await copyFromMerged(join(rel, name));
    }
  }

  /**
   * Whether an upper directory holds its whole merged content: no whiteouts, no metacopy files,
   * no sockets, and the merged view lists nothing else (no redirect to a lower directory).
   */
  async function selfContained(rel: string): Promise<boolean> {
    const entries = readdirSync(path.join(upper, rel), { withFileTypes: true });
    const mergedNames = readdirSync(path.join(merged, rel));
    if (mergedNames.length !== entries.length) return false;
    const names = new Set(mergedNames);
    for (const e of entries) {
      await tick();
      if (!names.has(e.name) || e.isSocket()) return false;
      const r = join(rel, e.name);
      if (e.isDirectory()) {
        if (!(await selfContained(r))) return false;
      } else if (e.isFile() || e.isCharacterDevice()) {
        const st = lstatSync(path.join(upper, r));
        if (st.isCharacterDevice() && st.rdev === 0) return false;
        if (st.isFile() && st.size > 0 && st.blocks === 0) return false;
      }
    }
    return true;
  }

  async function moveEntry(rel: string): Promise<void> {
    const src = path.join(upper, rel);
    const dst = path.join(output, rel);
    try {
      renameSync(src, dst);
    } catch (err) {
      if (!isErrno(err, 'EISDIR') && !isErrno(err, 'ENOTEMPTY') && !isErrno(err, 'EEXIST')) throw err;
      await removeOutput(rel);
      renameSync(src, dst);
    }
  }

  /** The cross-filesystem path: a fresh copy of what the merged view shows (recursively). */
  async function copyFromMerged(rel: string): Promise<void> {
    const src = path.join(merged, rel);
    const dst = path.join(output, rel);
    const st = lstatSync(src);
    await removeOutput(rel);
    if (st.isDirectory()) {
      mkdirSync(dst);
      for (const name of readdirSync(src)) {
        await tick();
        await copyFromMerged(join(rel, name));
      }
      applyMeta(dst, st);
      return;
    }
    if (st.isFile() && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first !== undefined) {
        linkSync(first, dst);
        return;
      }
      links.set(key, dst);
    }
    if (st.isFile()) copyFileSync(src, dst);
    else if (st.isSymbolicLink()) symlinkSync(readlinkSync(src), dst);
    else if (st.isFIFO()) await mknod(dst, 'p');
    else if (st.isCharacterDevice() || st.isBlockDevice())
      await mknod(dst, st.isCharacterDevice() ? 'c' : 'b', st.rdev);
    else return; // sockets do not survive a step, as in an image layer
    applyMeta(dst, st);
  }

  async function removeOutput(rel: string): Promise<void> {
    const p = path.join(output, rel);
    const st = lstatOrUndefined(p);
    if (!st) return;
    // A removed tree can be large: let fs.rm work off the event loop.
    if (st.isDirectory()) await rm(p, { recursive: true, force: true });
    else unlinkSync(p);
  }
}

function join(rel: string, name: string): string {
  return rel === '' ? name : `${rel}/${name}`;
}

function applyMeta(p: string, st: Stats): void {
  lchownSync(p, st.uid, st.gid);
  if (!st.isSymbolicLink()) chmodSync(p, st.mode & 0o7777);
  lutimesSync(p, st.atime, st.mtime);
}

function mknod(p: string, type: 'p' | 'c' | 'b', rdev = 0): Promise<void> {
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | ((Math.floor(rdev / 4096) & 0xfff00) >>> 0);
  const args = type === 'p' ? [p, 'p'] : [p, type, String(major), String(minor)];
  return new Promise((resolve, reject) => {
    execFile('mknod', args, (err) => (err ? reject(err) : resolve()));
  });
}

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
    throw err;
  }
}
