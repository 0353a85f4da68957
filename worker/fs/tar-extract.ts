import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, open, readdir, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Header } from 'tar-stream';
import type { KilnError } from '../../proto/errors.js';
import type { Owner } from './file-action-types.js';
import { isInsideRoot, resolveInRoot } from './root-path.js';

/**
 * The one tar extractor behind ADD's archive unpacking (archive-extract.ts) and image layers
 * (layer-apply.ts). Both share the safety rules: names resolve as if `root` were `/` (symlinks
 * planted by earlier entries cannot lead outside), `..` is refused, hardlinks only point inside,
 * and an existing file is unlinked and created anew, never written through (it may be a symlink,
 * or a hardlink shared with a parent snapshot). The policy says where they differ.
 */

export interface ExtractPolicy {
  /** The typed error for a refused entry (what the caller's users see). */
  error(entry: string, message: string, cause?: unknown): KilnError;
  /** What errors call the destination: `extraction root`, `layer root`. */
  readonly rootName: string;
  /** An absolute name: `strip` its leading `/` (ADD) or `reject` it (layers). */
  readonly absoluteNames: 'strip' | 'reject';
  /** Layer semantics: `.wh.<name>` deletes, `.wh..wh..opq` empties what lower layers made. */
  readonly whiteouts: boolean;
  /** ADD semantics: a directory entry over a symlink to a directory (inside root) extends it. */
  readonly followDirectorySymlinks: boolean;
  /** Replaces every entry's owner (ADD --chown); missing parents are made with it too. */
  readonly owner?: Owner | undefined;
  /** Replaces the permission bits of files and directories (ADD --chmod). */
  readonly mode?: number | undefined;
}

/** An entry as tar-stream's extractor yields it: the header, and the data as a stream. */
export interface TarEntry extends AsyncIterable<unknown> {
  readonly header: Header;
  resume(): unknown;
}

const whiteoutPrefix = '.wh.';
const opaqueMarker = '.wh..wh..opq';
const execFileAsync = promisify(execFile);

/** Extracts entries into `root` in order; directory times are set once all are in. */
export async function extractEntries(
  entries: AsyncIterable<TarEntry>,
  root: string,
  policy: ExtractPolicy,
  signal: AbortSignal,
): Promise<void> {
  const state: State = {
    root: path.resolve(root),
    policy,
    created: new Set(),
    dirTimes: [],
    isRoot: process.getuid?.() === 0,
  };
  for await (const entry of entries) {
    signal.throwIfAborted();
    await extractEntry(state, entry.header, entry);
    entry.resume();
  }
  // Directory times last: creating their children moved them.
  for (const [p, mtime] of state.dirTimes.reverse()) await lutimes(p, mtime, mtime);
}

interface State {
  readonly root: string;
  readonly policy: ExtractPolicy;
  /** Host paths made by this tar: an opaque marker keeps these and removes the rest. */
  readonly created: Set<string>;
  readonly dirTimes: [string, Date][];
  readonly isRoot: boolean;
}

/** The clean relative components of a name; `..` (and, by policy, an absolute name) is hostile. */
function nameParts(state: State, name: string, entry: string, what = 'path'): string[] {
  if (name.startsWith('/') && state.policy.absoluteNames === 'reject')
    throw state.policy.error(
      entry,
      `absolute ${what} ${name} is not allowed in the ${state.policy.rootName}`,
    );
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..'))
    throw state.policy.error(entry, `${what} ${name} is outside the ${state.policy.rootName} ("..")`);
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

async function extractEntry(state: State, header: Header, body: AsyncIterable<unknown>): Promise<void> {
  const { policy } = state;
  const name = header.name;
  const type = header.type ?? 'file';
  const parts = nameParts(state, name, name);
  if (parts.length === 0) return; // the root itself keeps the destination's metadata
  const base = parts[parts.length - 1] as string;
  const parent = await resolveInRoot(state.root, parts.slice(0, -1).join('/'));
  if (!isInsideRoot(state.root, parent)) throw policy.error(name, `resolves outside the ${policy.rootName}`);

  if (policy.whiteouts && base === opaqueMarker) {
    const st = await lstatOrUndefined(parent);
    if (!st?.isDirectory()) return;
    for (const child of await readdir(parent)) {
      const p = path.join(parent, child);
      if (!state.created.has(p)) await rm(p, { recursive: true, force: true });
    }
    return;
  }
  if (policy.whiteouts && base.startsWith(whiteoutPrefix)) {
    const victim = base.slice(whiteoutPrefix.length);
    if (victim === '' || victim === '.' || victim === '..') throw policy.error(name, 'invalid whiteout name');
    await rm(path.join(parent, victim), { recursive: true, force: true });
    return;
  }

  await mkdirParents(state, name, parent);
  let target = path.join(parent, base);
  let existing = await lstatOrUndefined(target);
  if (policy.followDirectorySymlinks && type === 'directory' && existing?.isSymbolicLink()) {
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
  const mode = (header.mode ?? 0o644) & 0o7777;
  const mtime = header.mtime ?? new Date(0);
  switch (type) {
    case 'directory': {
      if (!existing?.isDirectory()) await mkdir(target, { mode: 0o700 });
      await setOwnerAndMode(state, target, header, mode);
      state.dirTimes.push([target, mtime]);
      break;
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
      await setOwnerAndMode(state, target, header, mode);
      await lutimes(target, mtime, mtime);
      break;
    }
    case 'symlink': {
      // Stored verbatim; later entries resolve through it inside the root only.
      await symlink(header.linkname ?? '', target);
      await chownEntry(state, target, header);
      await lutimes(target, mtime, mtime);
      break;
    }
    case 'link': {
      const linkname = header.linkname ?? '';
      // Layers name hardlink targets from the root, sometimes with a leading `/`.
      const linkParts = nameParts(state, linkname.replace(/^\/+/, ''), name, 'hardlink target');
      if (linkParts.length === 0) throw policy.error(name, `hardlink to the ${policy.rootName}`);
      const src = await resolveInRoot(state.root, linkParts.join('/'), { followLast: false });
      if (!isInsideRoot(state.root, src))
        throw policy.error(name, `hardlink target ${linkname} is outside the ${policy.rootName}`);
      const st = await lstatOrUndefined(src);
      if (!st) throw policy.error(name, `hardlink target ${linkname} does not exist`);
      if (st.isDirectory()) throw policy.error(name, `hardlink target ${linkname} is a directory`);
      await link(src, target);
      // The inode is the target's: only an explicit --chown changes its owner.
      if (policy.owner) await lchown(target, policy.owner.uid, policy.owner.gid);
      break;
    }
    case 'character-device':
    case 'block-device':
    case 'fifo': {
      // Device nodes need root (rootless runtimes skip them the same way); fifos do not.
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
        throw policy.error(name, `mknod failed: ${(err as Error).message}`, err);
      }
      await setOwnerAndMode(state, target, header, mode);
      await lutimes(target, mtime, mtime);
      break;
    }
    default: {
      const unknown: never = type;
      throw policy.error(name, `unsupported tar entry type ${String(unknown)}`);
    }
  }
  state.created.add(target);
}

/**
 * Parents missing from the tar are made like BuildKit does: 0755, owned by --chown or root. A
 * parent that exists but is not a directory is a clear error.
 */
async function mkdirParents(state: State, entry: string, dir: string): Promise<void> {
  if (dir === state.root) return;
  const st = await lstatOrUndefined(dir);
  if (st) {
    if (st.isDirectory()) return;
    throw state.policy.error(entry, `${path.relative(state.root, dir)} is not a directory`);
  }
  await mkdirParents(state, entry, path.dirname(dir));
  await mkdir(dir, { mode: 0o755 });
  if (state.isRoot) await lchown(dir, state.policy.owner?.uid ?? 0, state.policy.owner?.gid ?? 0);
  await chmod(dir, 0o755);
  state.created.add(dir);
}

async function chownEntry(state: State, target: string, header: Header): Promise<void> {
  if (!state.isRoot && !state.policy.owner) return;
  const owner = state.policy.owner ?? { uid: header.uid ?? 0, gid: header.gid ?? 0 };
  await lchown(target, owner.uid, owner.gid);
}

async function setOwnerAndMode(state: State, target: string, header: Header, mode: number): Promise<void> {
  // chown first: it clears setuid/setgid, which chmod then puts back.
  await chownEntry(state, target, header);
  const override = state.policy.mode;
  await chmod(target, override === undefined ? mode : (mode & ~0o777) | (override & 0o7777));
}
