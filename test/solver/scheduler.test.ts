import { describe, expect, it } from 'vitest';
import { VertexError } from '../../daemon/solver/errors.js';
import type { ProgressEvent, VertexEvent } from '../../daemon/solver/progress-types.js';
import { Solver } from '../../daemon/solver/solver.js';
import { edge, gate, Harness } from './fakes.js';

function solverFor(h: Harness, maxParallelism?: number): Solver {
  return new Solver({
    resolveOp: h.resolveOp,
    cache: h.cache,
    ...(maxParallelism === undefined ? {} : { maxParallelism }),
  });
}

async function collect(progress: AsyncIterable<ProgressEvent>): Promise<ProgressEvent[]> {
  const out: ProgressEvent[] = [];
  for await (const e of progress) out.push(e);
  return out;
}

function vertexEvents(events: readonly ProgressEvent[], name?: string): VertexEvent[] {
  return events.filter(
    (e): e is VertexEvent => e.kind === 'vertex' && (name === undefined || e.name === name),
  );
}

const never = new AbortController().signal;

describe('scheduler', () => {
  it('runs independent vertices concurrently', async () => {
    const h = new Harness();
    const g = gate();
    const a = h.vertex('a', [], { gate: g.wait });
    const b = h.vertex('b', [], { gate: g.wait });
    const c = h.vertex('c', [a, b]);
    const solver = solverFor(h);
    await using job = solver.newJob({ id: 'j1', sessionIds: ['s1'], signal: never });
    const pending = job.solve(edge(c), never);
    // Both roots must be running before either is allowed to finish.
    while (h.timeline.length < 2) await new Promise((r) => setTimeout(r, 1));
    expect(h.timeline.slice(0, 2).sort()).toEqual(['start:a', 'start:b']);
    g.open();
    const ref = await pending;
    expect(ref.id).toMatch(/^c#0#/);
    expect(h.timeline.indexOf('start:c')).toBeGreaterThan(h.timeline.indexOf('end:a'));
    expect(h.timeline.indexOf('start:c')).toBeGreaterThan(h.timeline.indexOf('end:b'));
    expect(h.sessionsSeen.get('c')).toEqual(['s1']);
    await ref.release();
    await job.close();
    expect(h.ledger.outstanding).toBe(0);
    expect(h.ledger.doubleReleases).toBe(0);
  });

  it('bounds parallelism and does not deadlock on a diamond with maxParallelism=1', async () => {
    const h = new Harness();
    const root = h.vertex('root');
    const left = h.vertex('left', [root]);
    const right = h.vertex('right', [root]);
    const top = h.vertex('top', [left, right]);
    const solver = solverFor(h, 1);
    const job = solver.newJob({ id: 'j', sessionIds: [], signal: never });
    const ref = await job.solve(edge(top), never);
    let running = 0;
    let peak = 0;
    for (const e of h.timeline) {
      running += e.startsWith('start:') ? 1 : -1;
      peak = Math.max(peak, running);
    }
    expect(peak).toBe(1);
    expect(h.execCount.get('root')).toBe(1);
    await ref.release();
    await job.close();
    expect(h.ledger.outstanding).toBe(0);
    expect(solver.activeVertexCount).toBe(0);
  });

  it('runs a vertex shared by two concurrent jobs once and reports it to both', async () => {
    const h = new Harness();
    const g = gate();
    const shared = h.vertex('shared', [], { gate: g.wait });
    const x = h.vertex('x', [shared]);
    const y = h.vertex('y', [shared]);
    const solver = solverFor(h);
    const j1 = solver.newJob({ id: 'j1', sessionIds: ['s1'], signal: never });
    const j2 = solver.newJob({ id: 'j2', sessionIds: ['s2'], signal: never });
    const p1 = collect(j1.progress);
    const p2 = collect(j2.progress);
    const r1 = j1.solve(edge(x), never);
    const r2 = j2.solve(edge(y), never);
    while (!h.timeline.includes('start:shared')) await new Promise((r) => setTimeout(r, 1));
    g.open();
    const [a, b] = await Promise.all([r1, r2]);
    expect(h.execCount.get('shared')).toBe(1);
    expect(h.sessionsSeen.get('shared')).toEqual(['s1', 's2']);
    await a.release();
    await b.release();
    await j1.close();
    await j2.close();
    const [e1, e2] = await Promise.all([p1, p2]);
    for (const events of [e1, e2]) {
      expect(vertexEvents(events, 'shared').some((e) => e.completed !== undefined && !e.cached)).toBe(true);
      expect(
        events.some((e) => e.kind === 'log' && new TextDecoder().decode(e.data) === 'hello from shared'),
      ).toBe(true);
      expect(events.some((e) => e.kind === 'status' && e.completed !== undefined)).toBe(true);
    }
    expect(vertexEvents(e1, 'y')).toEqual([]);
    expect(h.ledger.outstanding).toBe(0);
  });

  it('hits the cache on a second solve without executing', async () => {
    const h = new Harness();
    const a = h.vertex('a');
    const b = h.vertex('b', [a]);
    const solver = solverFor(h);
    const j1 = solver.newJob({ id: 'j1', sessionIds: [], signal: never });
    const first = await j1.solve(edge(b), never);
    await j1.close();
    const j2 = solver.newJob({ id: 'j2', sessionIds: [], signal: never });
    const events = collect(j2.progress);
    const second = await j2.solve(edge(b), never);
    await j2.close();
    expect(second.snapshot.id).toBe(first.snapshot.id);
    expect(h.execCount.get('a')).toBe(1);
    expect(h.execCount.get('b')).toBe(1);
    const bEvents = vertexEvents(await events, 'b');
    expect(bEvents).toHaveLength(1);
    expect(bEvents[0]?.cached).toBe(true);
    // Lazy: b hit the cache, so a was not executed (execCount above), but like BuildKit it is still
    // reported once as CACHED, since its result is in the cache too.
    const aEvents = vertexEvents(await events, 'a');
    expect(aEvents).toHaveLength(1);
    expect(aEvents[0]?.cached).toBe(true);
    await first.release();
    await second.release();
    expect(h.ledger.outstanding).toBe(0);
  });

  it('is lazy: inputs of a cached vertex are not built', async () => {
    const h = new Harness();
    const solver = solverFor(h);
    const build = async (failRoot: boolean): Promise<string> => {
      const root = h.vertex('root', [], failRoot ? { fail: 'root must not run' } : {});
      const mid = h.vertex('mid', [root]);
      const job = solver.newJob({ id: `j${failRoot}`, sessionIds: [], signal: never });
      try {
        const ref = await job.solve(edge(mid), never);
        await ref.release();
        return ref.snapshot.id;
      } finally {
        await job.close();
      }
    };
    const first = await build(false);
    // Same cache keys (fake cache map ignores the spec), but root would fail if executed.
    expect(await build(true)).toBe(first);
    expect(h.execCount.get('root')).toBe(1);
    expect(h.ledger.outstanding).toBe(0);
  });

  it('ignoreCache skips lookup but still saves', async () => {
    const h = new Harness();
    const solver = solverFor(h);
    const run = async (ignore: boolean): Promise<void> => {
      const a = h.vertex('a', [], {}, ignore);
      const job = solver.newJob({ id: `j${ignore}${h.timeline.length}`, sessionIds: [], signal: never });
      const ref = await job.solve(edge(a), never);
      await ref.release();
      await job.close();
    };
    await run(false);
    await run(true);
    expect(h.execCount.get('a')).toBe(2);
    await run(false);
    expect(h.execCount.get('a')).toBe(2);
    expect(h.ledger.outstanding).toBe(0);
  });

  it('keys on input content when contentKey is given', async () => {
    const h = new Harness();
    const solver = solverFor(h);
    const build = async (rootName: string): Promise<void> => {
      // Each build uses a differently named root (a new key), like a re-synced local source.
      const root = h.vertex(rootName);
      const copy = h.vertex('copy', [root], { contentDeps: [0] });
      const job = solver.newJob({ id: rootName, sessionIds: [], signal: never });
      const ref = await job.solve(edge(copy), never);
      await ref.release();
      await job.close();
    };
    h.content.set('src1', 'hello');
    h.content.set('src2', 'hello');
    h.content.set('src3', 'changed');
    await build('src1');
    expect(h.execCount.get('copy')).toBe(1);
    await build('src2');
    expect(h.execCount.get('src2')).toBe(1);
    expect(h.execCount.get('copy')).toBe(1);
    await build('src3');
    expect(h.execCount.get('copy')).toBe(2);
    expect(h.ledger.outstanding).toBe(0);
  });

  it('selectors are part of the key', async () => {
    const h = new Harness();
    const solver = solverFor(h);
    for (const selector of ['/a', '/a', '/b']) {
      const root = h.vertex('root');
      const sel = h.vertex('sel', [root], { selector });
      const job = solver.newJob({ id: selector, sessionIds: [], signal: never });
      const ref = await job.solve(edge(sel), never);
      await ref.release();
      await job.close();
    }
    expect(h.execCount.get('sel')).toBe(2);
  });

  it('cancelling one job leaves shared work to the other and releases its refs', async () => {
    const h = new Harness();
    const g = gate();
    const shared = h.vertex('shared', [], { gate: g.wait });
    const x = h.vertex('x', [shared]);
    const solver = solverFor(h);
    const c1 = new AbortController();
    const j1 = solver.newJob({ id: 'j1', sessionIds: [], signal: c1.signal });
    const j2 = solver.newJob({ id: 'j2', sessionIds: [], signal: never });
    const r1 = j1.solve(edge(x), never);
    const r2 = j2.solve(edge(x), never);
    while (!h.timeline.includes('start:shared')) await new Promise((r) => setTimeout(r, 1));
    c1.abort(new Error('user canceled'));
    await expect(r1).rejects.toThrow(/user canceled|closed/);
    await j1.close();
    expect(h.abortedOps).toEqual([]);
    g.open();
    const ref = await r2;
    expect(h.execCount.get('shared')).toBe(1);
    await ref.release();
    await j2.close();
    expect(h.ledger.outstanding).toBe(0);
    expect(h.ledger.doubleReleases).toBe(0);
  });

  it('cancelling the only job aborts the op and releases everything', async () => {
    const h = new Harness();
    const g = gate();
    const a = h.vertex('a');
    const slow = h.vertex('slow', [a], { gate: g.wait });
    const solver = solverFor(h);
    const c = new AbortController();
    const job = solver.newJob({ id: 'j', sessionIds: [], signal: c.signal });
    const events = collect(job.progress);
    const pending = job.solve(edge(slow), never);
    while (!h.timeline.includes('start:slow')) await new Promise((r) => setTimeout(r, 1));
    c.abort(new Error('stop'));
    await expect(pending).rejects.toThrow();
    await job.close();
    await new Promise((r) => setTimeout(r, 5));
    expect(h.abortedOps).toEqual(['slow']);
    expect(h.ledger.acquires).toBeGreaterThan(0);
    expect(h.ledger.outstanding).toBe(0);
    expect(vertexEvents(await events, 'slow').some((e) => e.error === 'canceled')).toBe(true);
    expect(solver.activeVertexCount).toBe(0);
  });

  it('releases the outputs of an op that finishes after everyone left', async () => {
    const h = new Harness();
    const g = gate();
    const stubborn = h.vertex('stubborn', [], { gate: g.wait, ignoreAbort: true });
    const solver = solverFor(h);
    const c = new AbortController();
    const job = solver.newJob({ id: 'j', sessionIds: [], signal: c.signal });
    const pending = job.solve(edge(stubborn), never);
    while (!h.timeline.includes('start:stubborn')) await new Promise((r) => setTimeout(r, 1));
    c.abort(new Error('stop'));
    await expect(pending).rejects.toThrow();
    await job.close();
    g.open();
    while (!h.timeline.includes('end:stubborn')) await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setTimeout(r, 5));
    expect(h.ledger.acquires).toBe(h.ledger.releases);
  });

  it('an op error names the vertex and fails dependants', async () => {
    const h = new Harness();
    const bad = h.vertex('bad step', [], { fail: 'exit code: 1' });
    const ok = h.vertex('ok');
    const top = h.vertex('top', [bad, ok]);
    const solver = solverFor(h);
    const job = solver.newJob({ id: 'j', sessionIds: [], signal: never });
    const events = collect(job.progress);
    const err = await job.solve(edge(top), never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VertexError);
    expect((err as VertexError).message).toBe('bad step: exit code: 1');
    expect((err as VertexError).vertexDigest).toBe(bad.digest);
    await job.close();
    expect(h.execCount.get('top')).toBeUndefined();
    const badEvents = vertexEvents(await events, 'bad step');
    expect(badEvents.at(-1)?.error).toBe('exit code: 1');
    expect(h.ledger.outstanding).toBe(0);
  });

  it('solves each output of a multi-output op from one exec', async () => {
    const h = new Harness();
    const multi = h.vertex('multi', [], { outputs: 2 });
    const use0 = h.vertex('use0', [edge(multi, 0)]);
    const use1 = h.vertex('use1', [edge(multi, 1)]);
    const solver = solverFor(h);
    const job = solver.newJob({ id: 'j', sessionIds: [], signal: never });
    const r0 = await job.solve(edge(use0), never);
    const r1 = await job.solve(edge(use1), never);
    const direct = await job.solve(edge(multi, 1), never);
    expect(direct.snapshot.id).toMatch(/^multi#1#/);
    expect(h.execCount.get('multi')).toBe(1);
    for (const r of [r0, r1, direct]) await r.release();
    await job.close();
    expect(h.ledger.outstanding).toBe(0);
  });

  it('dedups different vertices that reach the same cache key', async () => {
    const h = new Harness();
    const g = gate();
    // Same op name → same fake cache map → same key, but different vertex digests.
    const a1 = h.vertex('same', [], { gate: g.wait });
    const a2 = h.vertex('same', [], { gate: g.wait, selector: 'ignored-without-inputs' });
    expect(a1.digest).toBe(a2.digest);
    const b1 = { ...a2, digest: `${a2.digest.slice(0, -4)}ffff` };
    const solver = solverFor(h);
    const j1 = solver.newJob({ id: 'j1', sessionIds: [], signal: never });
    const j2 = solver.newJob({ id: 'j2', sessionIds: [], signal: never });
    const p1 = j1.solve(edge(a1), never);
    while (!h.timeline.includes('start:same')) await new Promise((r) => setTimeout(r, 1));
    const e2 = collect(j2.progress);
    const p2 = j2.solve(edge(b1), never);
    await new Promise((r) => setTimeout(r, 5));
    g.open();
    const [r1, r2] = await Promise.all([p1, p2]);
    expect(h.execCount.get('same')).toBe(1);
    expect(r2.snapshot.id).toBe(r1.snapshot.id);
    const joinedEvents = (async () => vertexEvents(await e2).filter((e) => e.digest === b1.digest))();
    await r1.release();
    await r2.release();
    await j1.close();
    await j2.close();
    expect((await joinedEvents).at(-1)?.completed).toBeDefined();
    expect(h.ledger.outstanding).toBe(0);
  });

  it('replays progress to late readers and ends on close', async () => {
    const h = new Harness();
    const a = h.vertex('a');
    const solver = solverFor(h);
    const job = solver.newJob({ id: 'j', sessionIds: [], signal: never });
    const ref = await job.solve(edge(a), never);
    await ref.release();
    const late = collect(job.progress);
    await job.close();
    const events = await late;
    const aEvents = vertexEvents(events, 'a');
    expect(aEvents[0]?.started).toBeDefined();
    expect(aEvents.at(-1)?.completed).toBeDefined();
    expect(() => solver.newJob({ id: 'x', sessionIds: [], signal: never })).not.toThrow();
    await expect(job.solve(edge(a), never)).rejects.toThrow(/closed/);
  });
});
