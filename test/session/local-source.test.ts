import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { fileSyncProvider } from '../../client/session/filesync-provider.js';
import { startSession } from '../../client/session/start-session.js';
import type { ImmutableRef, MutableRef, OpContext, RefManager } from '../../daemon/solver/types.js';
import { createLocalSource, type LocalSourceIndex } from '../../daemon/source/local.js';
import { type Harness, startHarness } from './harness.js';

/** A plain directory-backed RefManager: 'hardlink' share prepares children with cp --link. */
function dirRefs(root: string): RefManager {
  let n = 0;
  const committed = new Map<string, string>();
  const imm = (id: string): ImmutableRef => ({
    id,
    snapshot: { id, dir: committed.get(id)! },
    clone: () => imm(id),
    release: async () => {},
    [Symbol.asyncDispose]: async () => {},
  });
  return {
    async newMutable(parent, opts) {
      const id = `r${++n}`;
      const dir = path.join(root, id);
      if (parent)
        execFileSync('cp', ['-a', opts.share === 'hardlink' ? '--link' : '-r', parent.snapshot.dir, dir]);
      else await mkdir(dir);
      const m: MutableRef = {
        id,
        dir,
        commit: async () => {
          committed.set(id, dir);
          return imm(id);
        },
        release: async () => {},
        [Symbol.asyncDispose]: async () => {},
      };
      return m;
    },
    get: async (id) => (committed.has(id) ? imm(id) : undefined),
    parentOf: async () => undefined,
    getLayer: () => undefined,
    setLayer: async () => {},
  };
}

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

it('local source syncs incrementally through the shared key and reports progress', async () => {
  const ac = new AbortController();
  const src = path.join(h.tmp, 'ctx');
  await mkdir(src);
  await writeFile(path.join(src, 'big'), Buffer.alloc(50_000, 3));
  await writeFile(path.join(src, 'small'), 'v1');
  const cs = await startSession({
    conn: h.open,
    name: 'proj',
    attachables: [fileSyncProvider({ context: src }, ac.signal)],
    signal: ac.signal,
  });
  const store = new Map<string, string>();
  const index: LocalSourceIndex = {
    get: async (k) => store.get(k),
    set: async (k, v) => {
      store.set(k, v);
    },
  };
  await mkdir(path.join(h.tmp, 'refs'));
  const local = createLocalSource({ sessions: h.manager, refs: dirRefs(path.join(h.tmp, 'refs')), index });
  const statuses: { id: string; current?: number; completed?: boolean }[] = [];
  const ctx: OpContext = {
    signal: ac.signal,
    sessionIds: [cs.id],
    progress: { status: (id, u) => statuses.push({ id, ...u }), log: () => {} },
  };
  const op = local.resolve('local://context', {});
  const k1 = await op.cacheMap(ctx);
  expect(k1.digest).toMatch(/^random:[0-9a-f]{64}$/);
  const [ref1] = await op.exec(ctx, []);
  expect(await readFile(path.join(ref1!.snapshot.dir, 'small'), 'utf8')).toBe('v1');
  expect(statuses.at(-1)).toEqual({ id: 'transferring context:', current: 50_002, completed: true });
  expect(store.get('context::')).toBe(ref1!.id);

  await writeFile(path.join(src, 'small'), 'v2!');
  const [ref2] = await op.exec(ctx, []);
  expect(statuses.at(-1)).toEqual({ id: 'transferring context:', current: 3, completed: true });
  expect(await readFile(path.join(ref2!.snapshot.dir, 'small'), 'utf8')).toBe('v2!');
  expect(await readFile(path.join(ref1!.snapshot.dir, 'small'), 'utf8')).toBe('v1');

  const other = await local.resolve('local://context', { 'local.session': 'someone-else' }).cacheMap(ctx);
  expect(other.digest).not.toBe(k1.digest);
  await cs.close();
});
