import type * as Fs from 'node:fs';

/**
 * One line of a layer: an entry of the child tree to write (with its own metadata), or the path of
 * something the parent had and the child does not (written as a `.wh.` whiteout).
 */
export type Change =
  | {
      readonly kind: 'add';
      readonly rel: string;
      readonly host: string;
      readonly st: Fs.BigIntStats;
      readonly linkTarget?: string;
    }
  | { readonly kind: 'delete'; readonly rel: string };

/*
 * The functions below run on the tar producer thread from their source text (diffChangesSource),
 * so they reference nothing but each other, their arguments and globals.
 */

/**
 * Walks `parentDir` and `childDir` (resolved paths) side by side (names in byte order, parents
 * before children) and lists what turns the first into the second; `check` throws to stop (abort).
 * Only metadata is read here; file contents are read later by the tar writer, so the list is small
 * even for big layers.
 *
 * A directory is listed when its own mode/owner changed or when anything below it changed (a layer
 * must carry the parent directories of its entries, with their metadata). Directory mtimes are not
 * compared: adding a file changes them, and that is already visible as the added file.
 *
 * Synchronous: diffTar runs it on the tar producer thread (see tar-thread.ts), where a syscall per
 * entry is cheaper than a promise and a thread-pool hop per entry on the event loop.
 */
export function diffChanges(
  fs: typeof Fs,
  check: () => void,
  parentDir: string | undefined,
  childDir: string,
): Change[] {
  const list: Change[] = [];
  diffDir(fs, check, parentDir, childDir, '', list);
  return list;
}

/** `dir/name` for an absolute `dir` as path.resolve gives it ('/' has its slash already). */
export function diffChild(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** Below U+D800, UTF-16 code unit order is UTF-8 byte order; only past it do they differ. */
function diffPlain(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0xd800) return false;
  return true;
}

/** Order of names by their UTF-8 bytes (as compareNames in wildcard.ts). */
function diffCompareNames(a: string, b: string): number {
  if (diffPlain(a) && diffPlain(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** A directory's names in byte order of their UTF-8 encoding. */
export function diffSortedNames(fs: typeof Fs, dir: string): string[] {
  const names = fs.readdirSync(dir);
  if (names.every(diffPlain)) return names.sort();
  return names
    .map((n) => ({ n, b: Buffer.from(n) }))
    .sort((a, b) => Buffer.compare(a.b, b.b))
    .map((e) => e.n);
}

function diffDir(
  fs: typeof Fs,
  check: () => void,
  parentHost: string | undefined,
  childHost: string,
  rel: string,
  list: Change[],
): void {
  check();
  const childNames = diffSortedNames(fs, childHost);
  const parentNames = parentHost === undefined ? [] : diffSortedNames(fs, parentHost);
  let i = 0;
  let j = 0;
  while (i < parentNames.length || j < childNames.length) {
    const p = parentNames[i];
    const c = childNames[j];
    const order = p === undefined ? 1 : c === undefined ? -1 : diffCompareNames(p, c);
    if (order < 0 && p !== undefined) {
      list.push({ kind: 'delete', rel: rel === '' ? p : `${rel}/${p}` });
      i++;
      continue;
    }
    if (order > 0 && c !== undefined) {
      diffAddTree(fs, check, diffChild(childHost, c), rel === '' ? c : `${rel}/${c}`, list, undefined);
      j++;
      continue;
    }
    // Same name on both sides.
    const name = c as string;
    i++;
    j++;
    const childPath = diffChild(childHost, name);
    const parentPath = diffChild(parentHost as string, name);
    const pst = fs.lstatSync(parentPath, { bigint: true });
    const cst = fs.lstatSync(childPath, { bigint: true });
    const relPath = rel === '' ? name : `${rel}/${name}`;
    const sameOwnerAndMode = pst.mode === cst.mode && pst.uid === cst.uid && pst.gid === cst.gid;
    if (pst.isDirectory() && cst.isDirectory()) {
      const mark = list.length;
      list.push({ kind: 'add', rel: relPath, host: childPath, st: cst });
      diffDir(fs, check, parentPath, childPath, relPath, list);
      if (list.length === mark + 1 && sameOwnerAndMode) list.length = mark;
      continue;
    }
    if (pst.isDirectory() !== cst.isDirectory()) {
      // A directory replaced by something else (or the reverse): hide the old entry and all below
      // it explicitly instead of relying on each extractor's replace rules.
      list.push({ kind: 'delete', rel: relPath });
      diffAddTree(fs, check, childPath, relPath, list, cst);
      continue;
    }
    if (diffUnchanged(fs, parentPath, pst, childPath, cst, sameOwnerAndMode)) continue;
    diffAddTree(fs, check, childPath, relPath, list, cst);
  }
}

/**
 * Children made with share 'hardlink' keep their parent's inodes, so an equal (dev, ino) is an
 * unchanged file. Otherwise the metadata decides; same size and same mtime (ns) counts as unchanged
 * without reading contents, like BuildKit's differ (copies keep mtimes, writers change them).
 */
function diffUnchanged(
  fs: typeof Fs,
  parentPath: string,
  pst: Fs.BigIntStats,
  childPath: string,
  cst: Fs.BigIntStats,
  sameOwnerAndMode: boolean,
): boolean {
  if (cst.isFile() && pst.isFile() && pst.dev === cst.dev && pst.ino === cst.ino) return true;
  if (!sameOwnerAndMode) return false; // mode includes the file type bits
  if (pst.size !== cst.size || pst.mtimeNs !== cst.mtimeNs) return false;
  if (cst.isCharacterDevice() || cst.isBlockDevice()) return pst.rdev === cst.rdev;
  if (cst.isSymbolicLink()) return fs.readlinkSync(parentPath) === fs.readlinkSync(childPath);
  return true;
}

/** Adds `host` and, for a directory, everything below it. */
function diffAddTree(
  fs: typeof Fs,
  check: () => void,
  host: string,
  rel: string,
  list: Change[],
  known: Fs.BigIntStats | undefined,
): void {
  check();
  const st = known ?? fs.lstatSync(host, { bigint: true });
  if (st.isSocket()) return; // no tar representation; BuildKit skips sockets too
  if (st.isSymbolicLink()) {
    list.push({ kind: 'add', rel, host, st, linkTarget: fs.readlinkSync(host) });
    return;
  }
  list.push({ kind: 'add', rel, host, st });
  if (!st.isDirectory()) return;
  for (const name of diffSortedNames(fs, host)) {
    diffAddTree(fs, check, diffChild(host, name), rel === '' ? name : `${rel}/${name}`, list, undefined);
  }
}

/** Source text of the walk, for the tar producer thread's script; entry point `diffChanges`. */
export const diffChangesSource: readonly string[] = [
  diffChanges,
  diffChild,
  diffPlain,
  diffCompareNames,
  diffSortedNames,
  diffDir,
  diffUnchanged,
  diffAddTree,
].map((f) => f.toString());
