import { randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MutableSnapshot, SnapshotInfo, Snapshotter } from '../../worker/snapshot/types.js';

/** Snapshots as plain directories; a `<id>.committed` marker file seals one. */
export class DirSnapshotter implements Snapshotter {
  readonly name = 'native' as const;
  readonly removed: string[] = [];
  readonly prepared: { parent: string | undefined; share: string | undefined }[] = [];
  /** Ids usage() walked, in call order. */
  readonly measured: string[] = [];
  constructor(readonly root: string) {}

  async prepare(
    parent: SnapshotInfo | undefined,
    _signal: AbortSignal,
    opts?: { share?: 'copy' | 'hardlink' },
  ): Promise<MutableSnapshot> {
    this.prepared.push({ parent: parent?.id, share: opts?.share });
    const id = randomBytes(6).toString('hex');
    const dir = join(this.root, id);
    await mkdir(this.root, { recursive: true });
    if (parent) await cp(parent.dir, dir, { recursive: true });
    else await mkdir(dir);
    let done = false;
    const snap: MutableSnapshot = {
      id,
      dir,
      commit: async () => {
        done = true;
        await writeFile(join(this.root, `${id}.committed`), '');
        return { id, dir };
      },
      discard: async () => {
        done = true;
        await this.remove(id);
      },
      [Symbol.asyncDispose]: async () => {
        if (!done) await snap.discard();
      },
    };
    return snap;
  }

  async get(id: string): Promise<SnapshotInfo | undefined> {
    try {
      await stat(join(this.root, `${id}.committed`));
      return { id, dir: join(this.root, id) };
    } catch {
      return undefined;
    }
  }

  async remove(id: string): Promise<void> {
    this.removed.push(id);
    await rm(join(this.root, id), { recursive: true, force: true });
    await rm(join(this.root, `${id}.committed`), { force: true });
  }

  async usage(id: string): Promise<number> {
    this.measured.push(id);
    let total = 0;
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, entry.name);
        if (entry.isDirectory()) await walk(p);
        else total += (await stat(p)).size;
      }
    };
    await walk(join(this.root, id));
    return total;
  }

  async list(): Promise<string[]> {
    try {
      return (await readdir(this.root, { withFileTypes: true }))
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      return [];
    }
  }
}
