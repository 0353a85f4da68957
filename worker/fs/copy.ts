import { spawn } from 'node:child_process';
import type { BigIntStats } from 'node:fs';
import { constants } from 'node:fs';
import {
  chmod,
  copyFile,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  open,
  readdir,
  readlink,
  rm,
  stat,
  symlink,
  unlink,
} from 'node:fs/promises';
import path from 'node:path';
import { UnimplementedError } from '../../proto/errors.js';
import { cleanPath } from './clean-path.js';
import { FileActionError } from './file-action-error.js';
import type { CopyOptions } from './file-action-types.js';
import { nsToSeconds, setTimes } from './file-metadata.js';
import { lstatOrUndefined, mkdirAll } from './mkdir-all.js';
import { PatternMatcher } from './patternmatcher.js';
import { isErrno, resolveInRoot, rooted } from './root-path.js';
import { compareNames, resolveWildcards } from './wildcard.js';

/**
 * FileOp copy from `srcRoot` to `dstRoot` (BuildKit's file backend over fsutil's copy): `dest`
 * ending in `/` is a directory to copy into; a directory source is copied as itself unless
 * dirCopyContents; existing files are replaced (unlinked, written anew), never edited in place.
 */
export async function copy(
  srcRoot: string,
  dstRoot: string,
  opts: CopyOptions,
  signal: AbortSignal,
): Promise<void> {
  const src = cleanKeepSlash(opts.src);
  const dest = cleanKeepSlash(opts.dest);
  try {
    if (!opts.createDestPath) {
      const p = await resolveInRoot(dstRoot, rooted(opts.dest));
      if (p !== path.resolve(dstRoot)) {
        const parent = path.dirname(p);
        if (!(await lstatOrUndefined(parent))) {
          throw new FileActionError(
            'copy',
            dest,
            `destination directory ${rooted(path.posix.dirname(rooted(opts.dest)))} does not exist`,
            { notFound: true },
          );
        }
      }
    }
    const copier = new Copier(opts, signal);
    if (!opts.allowWildcard) {
      await copier.copyOne(srcRoot, src, dstRoot, dest);
      return;
    }
    const matches = await resolveWildcards(srcRoot, src, signal);
    if (matches.length === 0) {
      if (opts.allowEmptyWildcard) return;
      throw new FileActionError('copy', src, 'no such file or directory', { notFound: true });
    }
    for (const m of matches) await copier.copyOne(srcRoot, m, dstRoot, dest);
  } catch (err) {
    throw FileActionError.wrap('copy', src, err);
  }
}

/** BuildKit's cleanPath: rooted and cleaned, but keeps a trailing `/` or `/.` that changes meaning. */
export function cleanKeepSlash(s: string): string {
  let out = rooted(s);
  if (s.endsWith('/.')) {
    if (out !== '/') out += '/';
    out += '.';
  } else if (s.endsWith('/') && out !== '/') {
    out += '/';
  }
  return out;
}

class Copier {
  private readonly include: PatternMatcher | undefined;
  private readonly exclude: PatternMatcher | undefined;
  /** Source inode → first target path, to recreate hard links between copied files. */
  private readonly inodes = new Map<string, string>();

  constructor(
    private readonly opts: CopyOptions,
    private readonly signal: AbortSignal,
  ) {
    this.include = opts.includePatterns.length > 0 ? PatternMatcher.create(opts.includePatterns) : undefined;
    this.exclude = opts.excludePatterns.length > 0 ? PatternMatcher.create(opts.excludePatterns) : undefined;
  }

  async copyOne(srcRoot: string, src: string, dstRoot: string, dest: string): Promise<void> {
    const { owner, timestampNs } = this.opts;
    // The directory that must exist: dest itself when it names a directory (`/x/`, `/x/.`), else its parent.
    const slash = dest.lastIndexOf('/');
    const base = dest.slice(slash + 1);
    const ensure = base !== '' && base !== '.' ? dest.slice(0, slash + 1) : dest;
    await mkdirAll(await resolveInRoot(dstRoot, ensure), 0o755, owner, timestampNs);

    let target = await resolveInRoot(dstRoot, cleanPath(dest));
    const srcHost = await this.sourcePath(srcRoot, src);
    const srcSt = await lstat(srcHost, { bigint: true }).catch((err: unknown) => {
      throw FileActionError.wrap('copy', rooted(src), err);
    });
    const destSt = await stat(target).catch((err: unknown) => {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    });
    const srcIsDir = srcSt.isDirectory();
    if (this.opts.attemptUnpack && srcSt.isFile() && (await isArchive(srcHost))) {
      throw new UnimplementedError(`ADD ${rooted(src)}: extracting archives is not supported yet`);
    }
    if ((!this.opts.dirCopyContents && srcIsDir && destSt) || (!srcIsDir && destSt?.isDirectory())) {
      target = path.join(target, path.posix.basename(rooted(src)));
    }
    let parent = path.dirname(target);
    if (this.opts.dirCopyContents && srcIsDir && !destSt) parent = target;
    await mkdirAll(parent, 0o755, owner, timestampNs);
    await this.copyEntry(srcHost, '', target, false, this.include === undefined);
  }

  private async sourcePath(root: string, src: string): Promise<string> {
    const p = rooted(src);
    if (this.opts.followSymlink || p === '/') return resolveInRoot(root, p);
    const dir = await resolveInRoot(root, path.posix.dirname(p));
    return path.join(dir, path.posix.basename(p));
  }

  private async copyEntry(
    src: string,
    rel: string,
    target: string,
    overwriteTargetMetadata: boolean,
    skipIncludeIn: boolean,
  ): Promise<void> {
    this.signal.throwIfAborted();
    let skipInclude = skipIncludeIn;
    const st = await lstat(src, { bigint: true });
    const isDir = st.isDirectory();
    let included = false;
    if (rel !== '') {
      if (!skipInclude && this.include) {
        if (this.include.matches(rel)) {
          included = true;
          skipInclude = true;
        } else if (isDir && this.include.couldMatchUnder(rel)) {
          included = true;
        } else {
          return;
        }
      }
      if (this.isExcluded(rel, isDir)) return;
    }

    if (!isDir) {
      if (included) await this.createParentDirs(src, rel, target, overwriteTargetMetadata);
      await ensureEmptyFileTarget(target, this.opts.alwaysReplaceExistingDestPaths === true);
    } else if (skipInclude && this.include) {
      await this.createParentDirs(src, rel, target, overwriteTargetMetadata);
    }

    let applyInfo = true;
    if (isDir) {
      const created = await this.copyDirectory(src, rel, target, st, overwriteTargetMetadata, skipInclude);
      if (!overwriteTargetMetadata || !skipInclude) applyInfo = created;
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1n ? this.inodes.get(key) : undefined;
      if (first !== undefined) {
        await link(first, target);
      } else {
        // COPYFILE_EXCL: the target was just removed; never write through something that reappeared.
        await copyFile(src, target, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
        if (st.nlink > 1n) this.inodes.set(key, target);
      }
    } else if (st.isSymbolicLink()) {
      await symlink(await readlink(src), target);
    } else {
      await copySpecial(src, target, this.signal);
    }
    if (applyInfo) await this.applyInfo(st, target);
  }

  private isExcluded(rel: string, isDir: boolean): boolean {
    const ex = this.exclude;
    if (!ex?.matches(rel)) return false;
    if (isDir && ex.hasExclusions) {
      // A `!` pattern below this directory can re-include part of it, so walk it anyway.
      const dirSlash = `${rel}/`;
      if (ex.patterns.some((p) => p.exclusion && `${p.pattern}/`.startsWith(dirSlash))) return false;
    }
    return true;
  }

  /** Directories skipped while include patterns only partially matched, created once a child matches. */
  private async createParentDirs(
    src: string,
    rel: string,
    target: string,
    overwrite: boolean,
  ): Promise<void> {
    if (!this.include) return;
    // One level per `/` in rel, plus the copied directory itself (rel '').
    const depth = rel.split('/').length;
    for (let up = depth; up > 0; up--) {
      let s = src;
      let t = target;
      for (let i = 0; i < up; i++) {
        s = path.dirname(s);
        t = path.dirname(t);
      }
      const st = await stat(s, { bigint: true });
      if (!st.isDirectory()) throw new FileActionError('copy', rel, `${s} is not a directory`);
      if (await copyDirectoryOnly(t, st, overwrite)) await this.applyInfo(st, t);
    }
  }

  private async copyDirectory(
    src: string,
    rel: string,
    dst: string,
    st: BigIntStats,
    overwrite: boolean,
    skipInclude: boolean,
  ): Promise<boolean> {
    let created = false;
    // Under a partial include match the directory waits until a child is actually copied.
    if (skipInclude)
      created = await copyDirectoryOnly(
        dst,
        st,
        overwrite,
        this.opts.alwaysReplaceExistingDestPaths === true,
      );
    const names = (await readdir(src)).sort(compareNames);
    for (const name of names) {
      await this.copyEntry(
        path.join(src, name),
        rel === '' ? name : `${rel}/${name}`,
        path.join(dst, name),
        true,
        skipInclude,
      );
    }
    return created;
  }

  private async applyInfo(st: BigIntStats, target: string): Promise<void> {
    const owner = this.opts.owner ?? { uid: Number(st.uid), gid: Number(st.gid) };
    await lchown(target, owner.uid, owner.gid);
    if (!st.isSymbolicLink()) {
      let mode = Number(st.mode) & 0o7777;
      if (this.opts.mode !== undefined) mode = (mode & ~0o777) | (this.opts.mode & 0o7777);
      await chmod(target, mode);
    }
    if (this.opts.timestampNs !== undefined) {
      await setTimes(target, this.opts.timestampNs);
    } else {
      await lutimes(target, nsToSeconds(st.atimeNs), nsToSeconds(st.mtimeNs));
    }
  }
}

async function copyDirectoryOnly(
  dst: string,
  st: BigIntStats,
  overwrite: boolean,
  replace = false,
): Promise<boolean> {
  let existing = await lstatOrUndefined(dst);
  if (existing && !existing.isDirectory() && replace) {
    await unlink(dst);
    existing = undefined;
  }
  if (!existing) {
    await mkdir(dst, Number(st.mode) & 0o777);
    return true;
  }
  if (!existing.isDirectory())
    throw new FileActionError('copy', dst, 'cannot copy a directory onto a non-directory');
  if (overwrite) await chmod(dst, Number(st.mode) & 0o7777);
  return false;
}

async function ensureEmptyFileTarget(dst: string, replaceDir: boolean): Promise<void> {
  const st = await lstatOrUndefined(dst);
  if (!st) return;
  if (st.isDirectory() && replaceDir) {
    await rm(dst, { recursive: true, force: true });
    return;
  }
  if (st.isDirectory())
    throw Object.assign(new Error('cannot replace a directory with a file'), { code: 'EISDIR' });
  await unlink(dst);
}

/** Devices, fifos and sockets: Node cannot mknod, coreutils can. */
async function copySpecial(src: string, target: string, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('cp', ['-a', '--no-dereference', '--', src, target], {
      stdio: ['ignore', 'ignore', 'pipe'],
      signal,
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`cp ${src}: ${stderr.trim()}`))));
  });
}

/** Tar, or a compressed stream (gzip, bzip2, xz, zstd) that BuildKit would try to untar. */
async function isArchive(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    const b = buf.subarray(0, bytesRead);
    const starts = (...sig: number[]) => sig.every((v, i) => b[i] === v);
    if (starts(0x1f, 0x8b) || starts(0x42, 0x5a, 0x68) || starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00))
      return true;
    if (starts(0x28, 0xb5, 0x2f, 0xfd)) return true;
    return bytesRead >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    await fh.close();
  }
}
