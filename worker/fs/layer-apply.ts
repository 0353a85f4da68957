import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, lchown, link, lstat, lutimes, mkdir, open, readdir, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createGunzip } from 'node:zlib';
import type { Header } from 'tar-stream';
import tar from 'tar-stream';
import { KilnError } from '../../proto/errors.js';
import { isInsideRoot, resolveInRoot } from './root-path.js';

/**
 * Unpacks an image layer (a tar, gzip or plain) onto `dir`, which is a hardlink-shared clone of the
 * parent snapshot: existing files are never modified in place, only unlinked and created anew.
 * Whiteouts (`.wh.<name>`) delete from lower layers and `.wh..wh..opq` empties a directory of what
 * lower layers put there. Parents resolve as if `dir` were `/` (a chroot, like Docker's applier), the
 * last component is never followed, and names that climb out (`..`, absolute, hardlinks to outside)
 * are rejected, so nothing is ever written outside `dir`.
 */

export class LayerApplyError extends KilnError {
  readonly entry: string;
  constructor(entry: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', `layer entry ${JSON.stringify(entry)}: ${message}`, options);
    this.name = 'LayerApplyError';
    this.entry = entry;
  }
}

export interface ApplyLayerResult {
  /** sha256 of the uncompressed tar, `sha256:<hex>` (the image config's diff_id). */
  readonly diffID: string;
  /** Size of the uncompressed tar. */
  readonly bytes: number;
}

const whiteoutPrefix = '.wh.';
const opaqueMarker = '.wh..wh..opq';
const execFileAsync = promisify(execFile);

/** The entry's name as clean relative components; `..` anywhere or an absolute name is hostile. */
function cleanEntryName(name: string, what = 'name', entry = name): string[] {
  if (name.startsWith('/'))
    throw new LayerApplyError(entry, `absolute ${what} ${name} is not allowed in a layer`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..'))
    throw new LayerApplyError(entry, `${what} ${name} climbs out of the layer root with ".."`);
  return parts;
}

async function lstatOrUndefined(p: string) {
  try {
    return await lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function* withFirst(first: Uint8Array, rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield first;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield r.value;
  }
}

export async function applyLayer(
  dir: string,
  source: AsyncIterable<Uint8Array>,
  signal: AbortSignal,
): Promise<ApplyLayerResult> {
  signal.throwIfAborted();
  const root = path.resolve(dir);
  const it = source[Symbol.asyncIterator]();
  let first: Uint8Array | undefined;
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    if (r.value.byteLength > 0) {
      first = r.value;
      break;
    }
  }
  const hash = createHash('sha256');
  let bytes = 0;
  if (first === undefined) {
    // An empty blob is not a tar, but an empty layer: nothing to apply.
    return { diffID: `sha256:${hash.digest('hex')}`, bytes: 0 };
  }
  const gzip = first.byteLength >= 2 && first[0] === 0x1f && first[1] === 0x8b;
  const raw = Readable.from(withFirst(first, it), { objectMode: false });
  let plain: AsyncIterable<Uint8Array> = raw;
  if (gzip) {
    const gunzip = createGunzip();
    raw.on('error', (err) => gunzip.destroy(err));
    raw.pipe(gunzip);
    plain = gunzip;
  }
  const extract = tar.extract();
  const feeder = (async () => {
    try {
      for await (const chunk of plain) {
        signal.throwIfAborted();
        const buf = chunk as Buffer;
        hash.update(buf);
        bytes += buf.byteLength;
        if (!extract.write(buf)) await new Promise<void>((r) => extract.once('drain', () => r()));
      }
      extract.end(undefined);
    } catch (err) {
      extract.destroy(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  })();
  // Keep a rejection of the feeder from being unhandled while entries are applied; awaited below.
  feeder.catch(() => undefined);
  const state: LayerState = { root, created: new Set(), dirTimes: [], isRoot: process.getuid?.() === 0 };
  try {
    for await (const entry of extract) {
      signal.throwIfAborted();
      await applyEntry(state, entry.header, entry);
      entry.resume();
    }
  } catch (err) {
    extract.destroy(err instanceof Error ? err : new Error(String(err)));
    raw.destroy();
    await feeder.catch(() => undefined);
    throw err;
  }
  await feeder;
  // Directory mtimes last: creating their children moved them.
  for (const [p, mtime] of state.dirTimes.reverse()) await lutimes(p, mtime, mtime);
  return { diffID: `sha256:${hash.digest('hex')}`, bytes };
}

interface LayerState {
  readonly root: string;
  /** Host paths this layer made: an opaque marker keeps these and removes the rest. */
  readonly created: Set<string>;
  readonly dirTimes: [string, Date][];
  readonly isRoot: boolean;
}

async function applyEntry(state: LayerState, header: Header, body: AsyncIterable<unknown>): Promise<void> {
  const name = header.name;
  const parts = cleanEntryName(name);
  if (parts.length === 0) return; // the layer root itself: the snapshot's root keeps its own metadata
  const base = parts[parts.length - 1] as string;
  const parentRel = parts.slice(0, -1).join('/');
  const parent = await resolveInRoot(state.root, parentRel);
  if (!isInsideRoot(state.root, parent)) throw new LayerApplyError(name, 'resolves outside the layer root');

  if (base === opaqueMarker) {
    const st = await lstatOrUndefined(parent);
    if (!st?.isDirectory()) return;
    for (const child of await readdir(parent)) {
      const p = path.join(parent, child);
      if (!state.created.has(p)) await rm(p, { recursive: true, force: true });
    }
    return;
  }
  if (base.startsWith(whiteoutPrefix)) {
    const victim = base.slice(whiteoutPrefix.length);
    if (victim === '' || victim === '.' || victim === '..')
      throw new LayerApplyError(name, 'invalid whiteout name');
    await rm(path.join(parent, victim), { recursive: true, force: true });
    return;
  }

  const target = path.join(parent, base);
  if (target === state.root || !isInsideRoot(state.root, target))
    throw new LayerApplyError(name, 'resolves outside the layer root');
  await mkdir(parent, { recursive: true });
  const existing = await lstatOrUndefined(target);
  const type = header.type ?? 'file';
  if (existing && !(existing.isDirectory() && type === 'directory')) {
    // Never write into an existing file: it may be a hardlink shared with the parent snapshot.
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
      const fh = await open(target, 'wx', 0o600);
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
      await symlink(header.linkname ?? '', target);
      if (state.isRoot) await lchown(target, header.uid ?? 0, header.gid ?? 0);
      await lutimes(target, mtime, mtime);
      break;
    }
    case 'link': {
      const linkname = header.linkname ?? '';
      const linkParts = cleanEntryName(linkname.replace(/^\/+/, ''), 'hardlink target', name);
      if (linkParts.length === 0) throw new LayerApplyError(name, 'hardlink to the layer root');
      const src = await resolveInRoot(state.root, linkParts.join('/'), { followLast: false });
      if (!isInsideRoot(state.root, src))
        throw new LayerApplyError(name, `hardlink target ${linkname} is outside the layer root`);
      const st = await lstatOrUndefined(src);
      if (!st) throw new LayerApplyError(name, `hardlink target ${linkname} does not exist`);
      if (st.isDirectory()) throw new LayerApplyError(name, `hardlink target ${linkname} is a directory`);
      await link(src, target);
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
        throw new LayerApplyError(name, `mknod failed: ${(err as Error).message}`, { cause: err });
      }
      await setOwnerAndMode(state, target, header, mode);
      await lutimes(target, mtime, mtime);
      break;
    }
    default: {
      const unknown: never = type;
      throw new LayerApplyError(name, `unsupported tar entry type ${String(unknown)}`);
    }
  }
  state.created.add(target);
}

async function setOwnerAndMode(
  state: LayerState,
  target: string,
  header: Header,
  mode: number,
): Promise<void> {
  // chown first: it clears setuid/setgid, which chmod then puts back.
  if (state.isRoot) await lchown(target, header.uid ?? 0, header.gid ?? 0);
  await chmod(target, mode);
}
