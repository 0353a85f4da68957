import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCacheManager } from '../../daemon/cache/manager.js';
import type { CacheManager } from '../../daemon/cache/types.js';
import type { ImmutableRef } from '../../daemon/solver/types.js';
import { DirSnapshotter } from './fake-snapshotter.js';

const signal = new AbortController().signal;
let root: string;
let snapshotter: DirSnapshotter;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'kiln-cache-'));
  snapshotter = new DirSnapshotter(join(root, 'snapshots'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const open = (): Promise<CacheManager> => openCacheManager({ root, snapshotter, signal });

async function makeRef(
  cm: CacheManager,
  content: string,
  opts: { recordType?: 'regular' | 'internal'; parent?: ImmutableRef } = {},
): Promise<ImmutableRef> {
  const m = await cm.newMutable(
    opts.parent,
    { description: `write ${content}`, recordType: opts.recordType ?? 'regular', share: 'hardlink' },
    signal,
  );
  await writeFile(join(m.dir, 'file'), content);
  return m.commit(signal);
}

describe('cache manager', () => {
  it('creates, commits and measures refs, passing share to the snapshotter', async () => {
    await using cm = await open();
    const ref = await makeRef(cm, 'hello');
    expect(snapshotter.prepared[0]?.share).toBe('hardlink');
    expect(await readFile(join(ref.snapshot.dir, 'file'), 'utf8')).toBe('hello');
    const child = await makeRef(cm, 'world!', { parent: ref });
    const [du] = await cm.diskUsage({ filter: [`id==${child.id}`] });
    expect(du).toMatchObject({ ID: child.id, Mutable: false, InUse: true, Size: 6, Parents: [ref.id] });
    expect(du?.Description).toBe('write world!');
    await child.release();
    expect((await cm.diskUsage({ filter: [`id==${child.id}`] }))[0]?.InUse).toBe(false);
    await ref.release();
  });

  it('measures sizes on first du or prune, not at commit, once, and keeps them across reopen', async () => {
    let ids: string[];
    {
      const cm = await open();
      const a = await makeRef(cm, 'aaa');
      const b = await makeRef(cm, 'bbbbb');
      ids = [a.id, b.id];
      expect(snapshotter.measured).toEqual([]);
      // Concurrent readers share one walk per record.
      const [first, second] = await Promise.all([cm.diskUsage({}), cm.diskUsage({})]);
      expect(first.map((r) => r.Size).sort()).toEqual([3, 5]);
      expect(second.map((r) => r.Size).sort()).toEqual([3, 5]);
      expect(snapshotter.measured.sort()).toEqual([a.snapshot.id, b.snapshot.id].sort());
      await a.release();
      await b.release();
      await cm.close();
    }
    snapshotter.measured.length = 0;
    await using cm = await open();
    expect((await cm.diskUsage({})).map((r) => [r.ID, r.Size]).sort()).toEqual(
      [
        [ids[0], 3],
        [ids[1], 5],
      ].sort(),
    );
    expect(snapshotter.measured).toEqual([]);
    // A filtered du measures only what it shows; prune reports what it freed.
    const c = await makeRef(cm, 'cccccccc');
    const cId = c.id;
    await c.release();
    expect(await cm.diskUsage({ filter: [`id==${ids[0]}`] })).toHaveLength(1);
    expect(snapshotter.measured).toEqual([]);
    const pruned = await cm.prune({ filter: [`id==${cId}`] }, () => undefined);
    expect(pruned.map((r) => [r.ID, r.Size])).toEqual([[cId, 8]]);
  });

  it('shows mutables as in use and discards them on release', async () => {
    await using cm = await open();
    const m = await cm.newMutable(undefined, { description: 'scratch', recordType: 'regular' }, signal);
    expect(await cm.diskUsage({ filter: ['mutable'] })).toHaveLength(1);
    expect((await cm.diskUsage({}))[0]).toMatchObject({ Mutable: true, InUse: true });
    await m.release();
    expect(await cm.diskUsage({})).toEqual([]);
    await expect(stat(m.dir)).rejects.toThrow();
  });

  it('persists records, cache keys and shared keys across close/reopen', async () => {
    let id: string;
    {
      const cm = await open();
      const ref = await makeRef(cm, 'data');
      id = ref.id;
      await cm.save('sha256:key1', ref, signal);
      await cm.setSharedKey('local:ctx', ref, signal);
      await ref.release();
      await cm.close();
    }
    await using cm = await open();
    const loaded = await cm.load('sha256:key1', signal);
    expect(loaded?.id).toBe(id);
    expect(await readFile(join(loaded?.snapshot.dir ?? '', 'file'), 'utf8')).toBe('data');
    const [du] = await cm.diskUsage({});
    expect(du?.UsageCount).toBe(1);
    expect(du?.LastUsedAt).toBeInstanceOf(Date);
    const sharedRef = await cm.getSharedKey('local:ctx', signal);
    expect(sharedRef?.id).toBe(id);
    expect(await cm.load('sha256:other', signal)).toBeUndefined();
    await loaded?.release();
    await sharedRef?.release();
    expect((await cm.get(id))?.id).toBe(id);
  });

  it('never prunes what is in use', async () => {
    await using cm = await open();
    const held = await makeRef(cm, 'held');
    const free = await makeRef(cm, 'free');
    const freeId = free.id;
    await free.release();
    const pruned: string[] = [];
    await cm.prune({ all: true }, (r) => pruned.push(r.ID));
    expect(pruned).toEqual([freeId]);
    expect((await cm.diskUsage({})).map((r) => r.ID)).toEqual([held.id]);
    expect(await cm.get(freeId)).toBeUndefined();
    // A clone keeps it in use after the original is released.
    const clone = held.clone();
    await held.release();
    expect(await cm.prune({ all: true }, () => undefined)).toEqual([]);
    await clone.release();
    expect(await cm.prune({ all: true }, () => undefined)).toHaveLength(1);
    expect(await snapshotter.list()).toEqual([]);
  });

  it('prunes internal records only with all, by age, then oldest first down to keepBytes', async () => {
    await using cm = await open();
    const internal = await makeRef(cm, 'i', { recordType: 'internal' });
    const internalId = internal.id;
    await internal.release();
    expect(await cm.prune({}, () => undefined)).toEqual([]);
    const ids: string[] = [];
    for (const content of ['aaaa', 'bbbb', 'cccc']) {
      const ref = await makeRef(cm, content);
      ids.push(ref.id);
      await ref.release();
      await new Promise((r) => setTimeout(r, 5));
    }
    // Everything was used moments ago: a long keepDuration protects it all.
    expect(await cm.prune({ keepDurationMs: 60_000 }, () => undefined)).toEqual([]);
    // Total is 13 bytes; keep at most 8: the two oldest regular records go, internal stays.
    const pruned = await cm.prune({ keepBytes: 8 }, () => undefined);
    expect(pruned.map((r) => r.ID)).toEqual([ids[0], ids[1]]);
    expect((await cm.diskUsage({})).map((r) => r.ID).sort()).toEqual([internalId, ids[2]].sort());
    const filtered = await cm.prune({ all: true, filter: ['type==internal'] }, () => undefined);
    expect(filtered.map((r) => r.ID)).toEqual([internalId]);
  });

  it('drops shared-key entries of pruned records', async () => {
    await using cm = await open();
    const ref = await makeRef(cm, 'ctx');
    await cm.setSharedKey('k', ref, signal);
    await ref.release();
    await cm.prune({}, () => undefined);
    expect(await cm.getSharedKey('k', signal)).toBeUndefined();
  });

  it('recovers from a crash: uncommitted mutables, orphan snapshots, records without snapshots', async () => {
    let keptId: string;
    let lostId: string;
    let mutableDir: string;
    {
      const cm = await open();
      const kept = await makeRef(cm, 'kept');
      keptId = kept.id;
      await cm.save('sha256:kept', kept, signal);
      const lost = await makeRef(cm, 'lost');
      lostId = lost.id;
      await cm.save('sha256:lost', lost, signal);
      await cm.setSharedKey('lost-key', lost, signal);
      const m = await cm.newMutable(
        undefined,
        { description: 'half written', recordType: 'regular' },
        signal,
      );
      mutableDir = m.dir;
      await writeFile(join(m.dir, 'partial'), 'x');
      // The "kill -9": no release, no commit; then the disk loses one snapshot and gains an orphan.
      await cm.close();
      await snapshotter.remove(lost.snapshot.id);
      const orphan = await snapshotter.prepare(undefined, signal);
      await orphan.commit(signal);
    }
    await using cm = await open();
    const du = await cm.diskUsage({});
    expect(du.map((r) => r.ID)).toEqual([keptId]);
    expect(du[0]?.InUse).toBe(false);
    await expect(stat(mutableDir)).rejects.toThrow();
    expect((await snapshotter.list()).length).toBe(1);
    expect(await cm.load('sha256:lost', signal)).toBeUndefined();
    expect(await cm.getSharedKey('lost-key', signal)).toBeUndefined();
    expect(await cm.get(lostId)).toBeUndefined();
    const kept = await cm.load('sha256:kept', signal);
    expect(await readFile(join(kept?.snapshot.dir ?? '', 'file'), 'utf8')).toBe('kept');
    await kept?.release();
  });

  it('parses filters and rejects unknown fields', async () => {
    await using cm = await open();
    const ref = await makeRef(cm, 'x');
    expect(await cm.diskUsage({ filter: ['description~=^write'] })).toHaveLength(1);
    expect(await cm.diskUsage({ filter: ['type==internal'] })).toHaveLength(0);
    expect(await cm.diskUsage({ filter: ['type==internal', 'inuse'] })).toHaveLength(1);
    expect(await cm.diskUsage({ filter: ['type==regular,mutable'] })).toHaveLength(0);
    await expect(cm.diskUsage({ filter: ['color==red'] })).rejects.toThrow(/unknown field/);
    await ref.release();
  });
});
