import type { BigIntStats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { compareNames } from './wildcard.js';

/**
 * One line of a layer: an entry of the child tree to write (with its own metadata), or the path of
 * something the parent had and the child does not (written as a `.wh.` whiteout).
 */
export type Change =
  | {
      readonly kind: 'add';
      readonly rel: string;
      readonly host: string;
      readonly st: BigIntStats;
      readonly linkTarget?: string;
    }
  | { readonly kind: 'delete'; readonly rel: string };

/**
 * Walks `parentDir` and `childDir` side by side (names in byte order, parents before children) and
 * lists what turns the first into the second. Only metadata is read here; file contents are read
 * later by the tar writer, so the list is small even for big layers.
 *
 * A directory is listed when its own mode/owner changed or when anything below it changed (a layer
 * must carry the parent directories of its entries, with their metadata). Directory mtimes are not
 * compared: adding a file changes them, and that is already visible as the added file.
 */
export async function listChanges(
  parentDir: string | undefined,
  childDir: string,
  signal: AbortSignal,
): Promise<Change[]> {
  const out: Change[] = [];
  await diffDir(
    parentDir === undefined ? undefined : path.resolve(parentDir),
    path.resolve(childDir),
    '',
    out,
    signal,
  );
  return out;
}

async function sortedNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort(compareNames);
}

const join = (rel: string, name: string): string => (rel === '' ? name : `${rel}/${name}`);

async function diffDir(
  parentHost: string | undefined,
  childHost: string,
  rel: string,
  out: Change[],
  signal: AbortSignal,
): Promise<void> {
  signal.throwIfAborted();
  const childNames = await sortedNames(childHost);
  const parentNames = parentHost === undefined ? [] : await sortedNames(parentHost);
  let i = 0;
  let j = 0;
  while (i < parentNames.length || j < childNames.length) {
    const p = parentNames[i];
    const c = childNames[j];
    const order = p === undefined ? 1 : c === undefined ? -1 : compareNames(p, c);
    if (order < 0 && p !== undefined) {
      out.push({ kind: 'delete', rel: join(rel, p) });
      i++;
      continue;
    }
    if (order > 0 && c !== undefined) {
      await addTree(path.join(childHost, c), join(rel, c), out, signal);
      j++;
      continue;
    }
    // Same name on both sides.
    const name = c ?? '';
    i++;
    j++;
    const childPath = path.join(childHost, name);
    const parentPath = path.join(parentHost ?? '', name);
    const [pst, cst] = await Promise.all([
      lstat(parentPath, { bigint: true }),
      lstat(childPath, { bigint: true }),
    ]);
    const relPath = join(rel, name);
    if (pst.isDirectory() && cst.isDirectory()) {
      const mark = out.length;
      out.push({ kind: 'add', rel: relPath, host: childPath, st: cst });
      await diffDir(parentPath, childPath, relPath, out, signal);
      if (out.length === mark + 1 && sameOwnerAndMode(pst, cst)) out.length = mark;
      continue;
    }
    if (pst.isDirectory() !== cst.isDirectory()) {
      // A directory replaced by something else (or the reverse): hide the old entry and all below it
      // explicitly instead of relying on each extractor's replace rules.
      out.push({ kind: 'delete', rel: relPath });
      await addTree(childPath, relPath, out, signal);
      continue;
    }
    if (await unchanged(parentPath, pst, childPath, cst)) continue;
    await addTree(childPath, relPath, out, signal);
  }
}

/** lstat calls in flight at once for the entries of a new directory. */
const StatAhead = 32;

/** Adds `host` and, for a directory, everything below it. */
async function addTree(
  host: string,
  rel: string,
  out: Change[],
  signal: AbortSignal,
  known?: BigIntStats,
): Promise<void> {
  signal.throwIfAborted();
  const st = known ?? (await lstat(host, { bigint: true }));
  if (st.isSocket()) return; // no tar representation; BuildKit skips sockets too
  if (st.isSymbolicLink()) {
    out.push({ kind: 'add', rel, host, st, linkTarget: await readlink(host) });
    return;
  }
  out.push({ kind: 'add', rel, host, st });
  if (!st.isDirectory()) return;
  // The children's lstat calls overlap (StatAhead at a time): one after the other, a directory of
  // many files waited out a thread-pool round trip per entry.
  const names = await sortedNames(host);
  const stats = new Map<number, Promise<BigIntStats>>();
  let next = 0;
  for (const [i, name] of names.entries()) {
    for (; next < names.length && next <= i + StatAhead; next++) {
      const p = lstat(path.join(host, names[next] as string), { bigint: true });
      // Handled here so an abandoned lstat cannot become an unhandled rejection.
      p.catch(() => undefined);
      stats.set(next, p);
    }
    const childStat = await (stats.get(i) as Promise<BigIntStats>);
    stats.delete(i);
    await addTree(path.join(host, name), join(rel, name), out, signal, childStat);
  }
}

function sameOwnerAndMode(a: BigIntStats, b: BigIntStats): boolean {
  return a.mode === b.mode && a.uid === b.uid && a.gid === b.gid;
}

/**
 * Children made with share 'hardlink' keep their parent's inodes, so an equal (dev, ino) is an
 * unchanged file. Otherwise the metadata decides; same size and same mtime (ns) counts as unchanged
 * without reading contents, like BuildKit's differ (copies keep mtimes, writers change them).
 */
async function unchanged(
  parentPath: string,
  pst: BigIntStats,
  childPath: string,
  cst: BigIntStats,
): Promise<boolean> {
  if (cst.isFile() && pst.isFile() && pst.dev === cst.dev && pst.ino === cst.ino) return true;
  if (!sameOwnerAndMode(pst, cst)) return false; // mode includes the file type bits
  if (pst.size !== cst.size || pst.mtimeNs !== cst.mtimeNs) return false;
  if (cst.isCharacterDevice() || cst.isBlockDevice()) return pst.rdev === cst.rdev;
  if (cst.isSymbolicLink()) return (await readlink(parentPath)) === (await readlink(childPath));
  return true;
}
