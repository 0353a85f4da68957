import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, open, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { Header } from 'tar-stream';
import tar from 'tar-stream';
import { KilnError } from '../../proto/errors.js';
import type { Owner } from './file-action-types.js';
import { isInsideRoot, resolveInRoot } from './root-path.js';

/**
 * Extracts an (already decompressed) tar into `destDir` as ADD does: names are taken relative to
 * destDir (a leading `/` is dropped), parents resolve as if destDir were `/` so symlinks planted by
 * earlier entries cannot lead outside, `..` is refused, and existing files are replaced (unlinked),
 * never written through. `owner` (--chown) replaces every entry's owner; `mode` (--chmod) replaces
 * the permission bits of files and directories.
 */

export class ArchiveEntryError extends KilnError {
  readonly entry: string;
  constructor(entry: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', `archive entry ${JSON.stringify(entry)}: ${message}`, options);
    this.name = 'ArchiveEntryError';
    this.entry = entry;
  }
}

export interface ExtractOptions {
  readonly owner?: Owner | undefined;
  readonly mode?: number | undefined;
}

const execFileAsync = promisify(execFile);

/** Clean relative components of an entry name; '..' is hostile. */
function entryParts(name: string, entry: string, what = 'path'): string[] {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..'))
    throw new ArchiveEntryError(entry, `${what} ${name} is outside the extraction root`);
  return parts;
}

async function lstatOrUndefined(p: string) {
  try {
    return await lstat(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

interface ExtractState {
  readonly root: string;
  readonly opts: ExtractOptions;
  readonly dirTimes: [string, Date][];
  readonly isRoot: boolean;
}

export async function extractTar(
  source: Readable,
  destDir: string,
  opts: ExtractOptions,
  signal: AbortSignal,
): Promise<void> {
  signal.throwIfAborted();
  const extract = tar.extract();
  const onSourceError = (err: Error) => extract.destroy(err);
  source.on('error', onSourceError);
  source.pipe(extract);
  const state: ExtractState = {
    root: path.resolve(destDir),
    opts,
    dirTimes: [],
    isRoot: process.getuid?.() === 0,
  };
  try {
    for await (const entry of extract) {
      signal.throwIfAborted();
      await extractEntry(state, entry.header, entry);
      entry.resume();
    }
  } catch (err) {
    source.unpipe(extract);
    extract.destroy();
    throw err;
  } finally {
    source.off('error', onSourceError);
  }
  // Directory times last: creating their children changed them.
  for (const [p, mtime] of state.dirTimes.reverse()) await lutimes(p, mtime, mtime);
}

async function extractEntry(
  state: ExtractState,
  header: Header,
  body: AsyncIterable<unknown>,
): Promise<void> {
  const name = header.name;
  const type = header.type ?? 'file';
  const parts = entryParts(name, name);
  if (parts.length === 0) return; // the root itself keeps the destination's metadata
  const base = parts[parts.length - 1] as string;
  const parent = await resolveInRoot(state.root, parts.slice(0, -1).join('/'));
  if (!isInsideRoot(state.root, parent))
    throw new ArchiveEntryError(name, 'resolves outside the extraction root');
  await mkdirParents(state, parent);
  let target = path.join(parent, base);
  let existing = await lstatOrUndefined(target);
  if (type === 'directory' && existing?.isSymbolicLink()) {
    // A directory entry over a symlink to a directory extends that directory (inside the root).
    const followed = await resolveInRoot(state.root, path.relative(state.root, target));
    const st = await lstatOrUndefined(followed);
    if (st?.isDirectory() && isInsideRoot(state.root, followed)) {
      target = followed;
      existing = st;
    }
  }
  if (existing && !(existing.isDirectory() && type === 'directory')) {
    await rm(target, { recursive: true, force: true });
  }
  const headerMode = (header.mode ?? 0o644) & 0o7777;
  const mtime = header.mtime ?? new Date(0);
  switch (type) {
    case 'directory': {
      if (!existing?.isDirectory()) await mkdir(target, { mode: 0o700 });
      await setOwnerAndMode(state, target, header, headerMode);
      state.dirTimes.push([target, mtime]);
      return;
    }
    case 'file':
    case 'contiguous-file': {
      // O_EXCL|O_NOFOLLOW: whatever was there was just removed; never write through a new symlink.
      const fh = await open(
        target,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
      try {
        for await (const chunk of body) {
          const buf = chunk as Buffer;
          let off = 0;
          while (off < buf.byteLength) off += (await fh.write(buf, off, buf.byteLength - off)).bytesWritten;
        }
      } finally {
        await fh.close();
      }
      await setOwnerAndMode(state, target, header, headerMode);
      await lutimes(target, mtime, mtime);
      return;
    }
    case 'symlink': {
      // Stored verbatim; later entries resolve through it inside the root only.
      await symlink(header.linkname ?? '', target);
      await chownEntry(state, target, header);
      await lutimes(target, mtime, mtime);
      return;
    }
    case 'link': {
      const linkname = header.linkname ?? '';
      const linkParts = entryParts(linkname, name, 'hardlink target');
      if (linkParts.length === 0) throw new ArchiveEntryError(name, 'hardlink to the extraction root');
      const src = await resolveInRoot(state.root, linkParts.join('/'), { followLast: false });
      if (!isInsideRoot(state.root, src))
        throw new ArchiveEntryError(name, `hardlink target ${linkname} is outside the extraction root`);
      const st = await lstatOrUndefined(src);
      if (!st) throw new ArchiveEntryError(name, `hardlink target ${linkname} does not exist`);
      if (st.isDirectory()) throw new ArchiveEntryError(name, `hardlink target ${linkname} is a directory`);
      await link(src, target);
      await chownEntry(state, target, header);
      return;
    }
    case 'character-device':
    case 'block-device':
    case 'fifo': {
      if (type !== 'fifo' && !state.isRoot) return;
      const args =
        type === 'fifo'
          ? [target, 'p']
          : [
              target,
              type === 'block-device' ? 'b' : 'c',
              String(header.devmajor ?? 0),
              String(header.devminor ?? 0),
            ];
      try {
        await execFileAsync('mknod', args);
      } catch (err) {
        throw new ArchiveEntryError(name, `mknod failed: ${(err as Error).message}`, { cause: err });
      }
      await setOwnerAndMode(state, target, header, headerMode);
      await lutimes(target, mtime, mtime);
      return;
    }
    default:
      throw new ArchiveEntryError(name, `unsupported tar entry type ${String(type)}`);
  }
}

/** Parents missing from the archive are made like BuildKit does: 0755, owned by --chown or root. */
async function mkdirParents(state: ExtractState, dir: string): Promise<void> {
  if (dir === state.root) return;
  const st = await lstatOrUndefined(dir);
  if (st) {
    if (st.isDirectory()) return;
    throw Object.assign(new Error(`${dir}: not a directory`), { code: 'ENOTDIR' });
  }
  await mkdirParents(state, path.dirname(dir));
  await mkdir(dir, { mode: 0o755 });
  if (state.isRoot) await lchown(dir, state.opts.owner?.uid ?? 0, state.opts.owner?.gid ?? 0);
  await chmod(dir, 0o755);
}

async function chownEntry(state: ExtractState, target: string, header: Header): Promise<void> {
  if (!state.isRoot && !state.opts.owner) return;
  const owner = state.opts.owner ?? { uid: header.uid ?? 0, gid: header.gid ?? 0 };
  await lchown(target, owner.uid, owner.gid);
}

async function setOwnerAndMode(
  state: ExtractState,
  target: string,
  header: Header,
  mode: number,
): Promise<void> {
  // chown first: it clears setuid/setgid, which chmod then puts back.
  await chownEntry(state, target, header);
  const m = state.opts.mode === undefined ? mode : (mode & ~0o777) | (state.opts.mode & 0o7777);
  await chmod(target, m);
}
