import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openCacheManager } from '../../daemon/cache/manager.js';
import type { CacheManager } from '../../daemon/cache/types.js';
import type { ImmutableRef, OpProgress } from '../../daemon/solver/types.js';
import { createContentStore } from '../../worker/content/store.js';
import type { ContentStore } from '../../worker/content/types.js';
import { createNativeSnapshotter } from '../../worker/snapshot/native.js';

export const signal = new AbortController().signal;

/** A real native snapshotter, cache manager and content store under one temp root. */
export interface Fixture extends AsyncDisposable {
  readonly root: string;
  readonly refs: CacheManager;
  readonly store: ContentStore;
  /** A committed child of `parent` after `write` ran in its directory. */
  makeRef(
    parent: ImmutableRef | undefined,
    write: (dir: string) => Promise<void>,
    share?: 'copy' | 'hardlink',
  ): Promise<ImmutableRef>;
}

export async function openFixture(): Promise<Fixture> {
  const root = await mkdtemp(path.join(tmpdir(), 'kiln-export-'));
  const snapshotter = createNativeSnapshotter(path.join(root, 'snap'));
  const refs = await openCacheManager({ root, snapshotter, signal });
  const store = await createContentStore(path.join(root, 'content'));
  return {
    root,
    refs,
    store,
    async makeRef(parent, write, share = 'copy') {
      const m = await refs.newMutable(parent, { description: 'test', recordType: 'regular', share }, signal);
      try {
        await write(m.dir);
        return await m.commit(signal);
      } catch (err) {
        await m.release();
        throw err;
      }
    },
    async [Symbol.asyncDispose]() {
      await refs.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export interface RecordedProgress extends OpProgress {
  readonly statuses: { id: string; current?: number; total?: number; completed?: boolean }[];
}

export function recordProgress(): RecordedProgress {
  const statuses: RecordedProgress['statuses'] = [];
  return {
    statuses,
    status(id, update) {
      statuses.push({ id, ...update });
    },
    log() {},
  };
}
