import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync } from 'node:fs';
import { access, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError } from '../../proto/errors.js';
import { TimeSlice } from '../fs/time-slice.js';
import { CpRunner } from './cp-helper.js';
import { SnapshotterError } from './errors.js';
import type { MutableSnapshot, SnapshotInfo, Snapshotter } from './types.js';

/**
 * Snapshots as plain directories: `<root>/snapshots/<id>/fs`, plus `<root>/snapshots/<id>/committed`
 * once sealed. A child is a full copy of its parent (`cp -a --reflink=auto`, cheap on btrfs/xfs) or,
 * with share 'hardlink', new directories and symlinks over hard links to the parent's files
 * (`cp -al`). Immutability is a promise kept by the writers, not file modes: builds need the modes.
 */
export function createNativeSnapshotter(root: string): Snapshotter {
  return new NativeSnapshotter(path.resolve(root));
}

const COMMITTED = 'committed';

export { SnapshotterError };

class NativeSnapshotter implements Snapshotter {
  readonly name = 'native' as const;
  private readonly base: string;
  private readonly cp = new CpRunner();

  constructor(root: string) {
    this.base = path.join(root, 'snapshots');
  }

  private entryDir(id: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new NotFoundError(`snapshot ${JSON.stringify(id)} not found`);
    return path.join(this.base, id);
  }

  async prepare(
    parent: SnapshotInfo | undefined,
    signal: AbortSignal,
    opts?: { share?: 'copy' | 'hardlink' },
  ): Promise<MutableSnapshot> {
    signal.throwIfAborted();
    await mkdir(this.base, { recursive: true });
    const id = randomBytes(12).toString('hex');
    const entry = path.join(this.base, id);
    const dir = path.join(entry, 'fs');
    await mkdir(entry, { mode: 0o700 });
    try {
      if (parent === undefined) {
        await mkdir(dir, { mode: 0o755 });
      } else {
        const share = opts?.share ?? 'copy';
        const args = share === 'hardlink' ? ['-al'] : ['-a', '--reflink=auto'];
        await this.cp.run([...args, '--', parent.dir, dir], path.join(entry, 'cp.err'), signal);
      }
    } catch (err) {
      await rm(entry, { recursive: true, force: true });
      throw err;
    }
    return new NativeMutable(id, entry, dir);
  }

  async get(id: string): Promise<SnapshotInfo | undefined> {
    const entry = this.entryDir(id);
    try {
      await access(path.join(entry, COMMITTED));
    } catch {
      return undefined;
    }
    return { id, dir: path.join(entry, 'fs') };
  }

  async remove(id: string): Promise<void> {
    // fs.rm never follows symlinks: it unlinks them, so a link out of the tree cannot be followed.
    await rm(this.entryDir(id), { recursive: true, force: true, maxRetries: 2 });
  }

  /**
   * Apparent accounting: st_blocks × 512 for files linked once; a file with n links counts 1/n
   * (shared with parents or children made with share 'hardlink'). Directories and symlinks count
   * their blocks. Files are visited once per path, so a file linked twice inside the snapshot
   * counts 2/n.
   */
  async usage(id: string): Promise<number> {
    const root = path.join(this.entryDir(id), 'fs');
    let total = 0;
    // Synchronous syscalls in time slices: one threadpool round trip per file made this slow.
    const slice = new TimeSlice();
    const walk = async (p: string): Promise<void> => {
      if (slice.due()) await slice.pause();
      const st = lstatSync(p, { bigint: true });
      const bytes = Number(st.blocks) * 512;
      total += st.isDirectory() || st.nlink <= 1n ? bytes : bytes / Number(st.nlink);
      if (st.isDirectory()) {
        for (const name of readdirSync(p)) await walk(path.join(p, name));
      }
    };
    try {
      await walk(root);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') throw new NotFoundError(`snapshot ${id} not found`);
      throw err;
    }
    return Math.round(total);
  }

  /** Every snapshot on disk, committed or not (uncommitted ones are leftovers of a crash). */
  async list(): Promise<string[]> {
    try {
      return (await readdir(this.base)).sort();
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** Whether a snapshot was committed (list() also returns crash leftovers that were not). */
  async isCommitted(id: string): Promise<boolean> {
    return (await this.get(id)) !== undefined;
  }
}

class NativeMutable implements MutableSnapshot {
  private state: 'open' | 'committed' | 'discarded' = 'open';

  constructor(
    readonly id: string,
    private readonly entry: string,
    readonly dir: string,
  ) {}

  async commit(signal: AbortSignal): Promise<SnapshotInfo> {
    signal.throwIfAborted();
    if (this.state !== 'open') throw new SnapshotterError(`snapshot ${this.id} is already ${this.state}`);
    await writeFile(path.join(this.entry, COMMITTED), '');
    this.state = 'committed';
    return { id: this.id, dir: this.dir };
  }

  async discard(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'discarded';
    await rm(this.entry, { recursive: true, force: true, maxRetries: 2 });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.discard();
  }
}
