import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCacheManager } from '../../daemon/cache/manager.js';
import type { CacheManager } from '../../daemon/cache/types.js';
import { Solver } from '../../daemon/solver/solver.js';
import type { ResolvedOp, Vertex } from '../../daemon/solver/types.js';
import { DirSnapshotter } from '../cache/fake-snapshotter.js';

const signal = new AbortController().signal;
let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'kiln-solver-cache-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Each vertex appends its name to /log on top of its first input. */
function appendOps(cm: CacheManager, execs: string[]): (v: Vertex) => ResolvedOp {
  return (vertex) => ({
    cacheMap: async () => ({ digest: `append:${vertex.name}`, deps: vertex.inputs.map(() => ({})) }),
    exec: async (ctx, inputs) => {
      execs.push(vertex.name);
      const m = await cm.newMutable(
        inputs[0],
        { description: vertex.name, recordType: 'regular' },
        ctx.signal,
      );
      try {
        let log = '';
        if (inputs[0]) log = await readFile(join(inputs[0].snapshot.dir, 'log'), 'utf8');
        await writeFile(join(m.dir, 'log'), `${log}${vertex.name}\n`);
        return [await m.commit(ctx.signal)];
      } catch (err) {
        await m.release();
        throw err;
      }
    },
  });
}

function chain(names: readonly string[]): Vertex {
  let prev: Vertex | undefined;
  for (const name of names) {
    prev = {
      digest: `sha256:${name}`,
      name,
      inputs: prev ? [{ vertex: prev, index: 0 }] : [],
      ignoreCache: false,
      op: {},
    };
  }
  if (!prev) throw new Error('empty chain');
  return prev;
}

describe('solver with the level cache manager', () => {
  it('builds, caches across a daemon restart, and leaves nothing in use', async () => {
    const snapshotter = new DirSnapshotter(join(root, 'snapshots'));
    const execs: string[] = [];
    const top = chain(['a', 'b', 'c']);
    {
      const cm = await openCacheManager({ root, snapshotter, signal });
      const solver = new Solver({ resolveOp: appendOps(cm, execs), cache: cm, maxParallelism: 2 });
      const job = solver.newJob({ id: 'j1', sessionIds: [], signal });
      const ref = await job.solve({ vertex: top, index: 0 }, signal);
      expect(await readFile(join(ref.snapshot.dir, 'log'), 'utf8')).toBe('a\nb\nc\n');
      await ref.release();
      await job.close();
      expect((await cm.diskUsage({})).filter((r) => r.InUse)).toEqual([]);
      await cm.close();
    }
    const cm = await openCacheManager({ root, snapshotter, signal });
    const solver = new Solver({ resolveOp: appendOps(cm, execs), cache: cm });
    const job = solver.newJob({ id: 'j2', sessionIds: [], signal });
    const ref = await job.solve({ vertex: top, index: 0 }, signal);
    expect(await readFile(join(ref.snapshot.dir, 'log'), 'utf8')).toBe('a\nb\nc\n');
    expect(execs).toEqual(['a', 'b', 'c']);
    expect((await cm.diskUsage({ filter: ['inuse'] })).map((r) => r.Description)).toEqual(['c']);
    await ref.release();
    await job.close();
    await cm.prune({ all: true }, () => undefined);
    expect(await cm.diskUsage({})).toEqual([]);
    await cm.close();
  });
});
