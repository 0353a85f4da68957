import { spawn } from 'node:child_process';
import {
  type BigIntStats,
  chmodSync,
  constants,
  copyFileSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { chmod, lstat, mkdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { cleanPath } from './clean-path.js';
import { FileActionError } from './file-action-error.js';
import type { CopyOptions } from './file-action-types.js';
import { nsToSeconds } from './file-metadata.js';
import { lstatOrUndefined, mkdirAll } from './mkdir-all.js';
import { PatternMatcher } from './patternmatcher.js';
import { isErrno, resolveInRoot, rooted } from './root-path.js';
import { TimeSlice } from './time-slice.js';
import { unpackIfArchive } from './unpack.js';
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
  /** Per-entry work is synchronous syscalls in time slices (see TimeSlice). */
  private readonly slice = new TimeSlice();
  /** Directories this copy created: nothing can be in the way of their entries. */
  private readonly freshDirs = new Set<string>();
  /** Whether copied files may share the source's inode (see linkOrCopy). */
  private readonly mayLink: boolean;

  constructor(
    private readonly opts: CopyOptions,
    private readonly signal: AbortSignal,
  ) {
    this.include = opts.includePatterns.length > 0 ? PatternMatcher.create(opts.includePatterns) : undefined;
    this.exclude = opts.excludePatterns.length > 0 ? PatternMatcher.create(opts.excludePatterns) : undefined;
    this.mayLink = opts.mode === undefined && opts.chmod === undefined && opts.timestampNs === undefined;
  }

  async copyOne(srcRoot: string, src: string, dstRoot: string, dest: string): Promise<void> {
    const { owner, timestampNs } = this.opts;
    // Fresh only within one source: another wildcard match may write into the same directories.
    this.freshDirs.clear();
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
    if (this.opts.attemptUnpack && srcSt.isFile()) {
      const unpacked = await unpackIfArchive(srcHost, dstRoot, dest, this.opts, this.signal);
      if (unpacked) return;
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
    if (this.slice.due()) {
      this.signal.throwIfAborted();
      await this.slice.pause();
    }
    let skipInclude = skipIncludeIn;
    const st = lstatSync(src, { bigint: true });
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
      if (!this.freshDirs.has(path.dirname(target)))
        ensureEmptyFileTarget(target, this.opts.alwaysReplaceExistingDestPaths === true);
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
        linkSync(first, target);
      } else {
        if (this.linkOrCopy(src, st, target)) applyInfo = false;
        if (st.nlink > 1n) this.inodes.set(key, target);
      }
    } else if (st.isSymbolicLink()) {
      symlinkSync(readlinkSync(src), target);
    } else {
      await copySpecial(src, target, this.signal);
    }
    if (applyInfo) this.applyInfo(st, target);
  }

  /**
   * Hard-links the source file when the copy would be identical to it anyway (same owner, mode and
   * times): snapshots are immutable and every writer replaces files instead of editing them in
   * place (copy-on-write snapshots of exec mounts are made with `cp -a`), so sharing the inode is
   * safe. Returns whether it linked; otherwise copies (reflink when the filesystem can).
   */
  private linkOrCopy(src: string, st: BigIntStats, target: string): boolean {
    const owner = this.opts.owner;
    if (this.mayLink && (!owner || (owner.uid === Number(st.uid) && owner.gid === Number(st.gid)))) {
      try {
        linkSync(src, target);
        return true;
      } catch (err) {
        // Another filesystem, too many links, or linking not permitted: copy instead.
        if (!isErrno(err, 'EXDEV') && !isErrno(err, 'EMLINK') && !isErrno(err, 'EPERM')) throw err;
      }
    }
    // COPYFILE_EXCL: the target was just removed; never write through something that reappeared.
    copyFileSync(src, target, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    return false;
  }

  /**
   * The common case of a whole-tree COPY: a regular file that is fully included, not excluded and
   * may share the source inode is linked without an lstat first (copyEntry's lstat, include and
   * owner checks are for the other cases). Returns false when it did nothing.
   */
  private linkWithoutStat(
    src: string,
    rel: string,
    target: string,
    parentFresh: boolean,
    skipInclude: boolean,
  ): boolean {
    if (!this.mayLink || this.opts.owner !== undefined) return false;
    if (this.include && !skipInclude) return false;
    if (this.isExcluded(rel, false)) return false;
    if (!parentFresh) ensureEmptyFileTarget(target, this.opts.alwaysReplaceExistingDestPaths === true);
    try {
      linkSync(src, target);
    } catch (err) {
      // Another filesystem, too many links, or linking not permitted: copyEntry copies instead.
      if (isErrno(err, 'EXDEV') || isErrno(err, 'EMLINK') || isErrno(err, 'EPERM')) return false;
      throw err;
    }
    return true;
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
      if (await copyDirectoryOnly(t, st, overwrite)) this.applyInfo(st, t);
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
    if (created) this.freshDirs.add(dst);
    const entries = readdirSync(src, { withFileTypes: true }).sort((a, b) => compareNames(a.name, b.name));
    const dstFresh = this.freshDirs.has(dst);
    for (const ent of entries) {
      const name = ent.name;
      // Names from readdir hold no `/`: concatenation is path.join without its normalization pass.
      const childSrc = `${src}/${name}`;
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const childDst = `${dst}/${name}`;
      if (ent.isFile() && this.linkWithoutStat(childSrc, childRel, childDst, dstFresh, skipInclude)) {
        if (this.slice.due()) {
          this.signal.throwIfAborted();
          await this.slice.pause();
        }
        continue;
      }
      await this.copyEntry(childSrc, childRel, childDst, true, skipInclude);
    }
    return created;
  }

  private applyInfo(st: BigIntStats, target: string): void {
    const owner = this.opts.owner ?? { uid: Number(st.uid), gid: Number(st.gid) };
    lchownSync(target, owner.uid, owner.gid);
    if (!st.isSymbolicLink()) {
      let mode = Number(st.mode) & 0o7777;
      if (this.opts.chmod !== undefined) mode = this.opts.chmod(mode, st.isDirectory());
      else if (this.opts.mode !== undefined) mode = (mode & ~0o777) | (this.opts.mode & 0o7777);
      chmodSync(target, mode);
    }
    if (this.opts.timestampNs !== undefined) {
      const s = nsToSeconds(this.opts.timestampNs);
      lutimesSync(target, s, s);
    } else {
      lutimesSync(target, nsToSeconds(st.atimeNs), nsToSeconds(st.mtimeNs));
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

function ensureEmptyFileTarget(dst: string, replaceDir: boolean): void {
  const st = lstatSync(dst, { throwIfNoEntry: false });
  if (!st) return;
  if (st.isDirectory() && replaceDir) {
    rmSync(dst, { recursive: true, force: true });
    return;
  }
  if (st.isDirectory())
    throw Object.assign(new Error('cannot replace a directory with a file'), { code: 'EISDIR' });
  unlinkSync(dst);
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
