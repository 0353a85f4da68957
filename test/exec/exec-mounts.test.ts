import { spawnSync } from 'node:child_process';
import { lstat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretsAttachable } from '../../client/secrets-attachable.js';
import { startSession, type ClientSession } from '../../client/session/start-session.js';
import { CacheMountManager } from '../../daemon/solver/ops/exec-cache-mounts.js';
import { createExecOp } from '../../daemon/solver/ops/exec-op.js';
import type { ImmutableRef } from '../../daemon/solver/types.js';
import { ContentHashCache } from '../../worker/fs/content-hash.js';
import { type Harness, startHarness } from '../session/harness.js';
import { ctx, type ExecEnv, execOp, openExecEnv, sh } from './harness.js';

let env: ExecEnv;
let h: Harness;
let cs: ClientSession;
const ac = new AbortController();
const signal = ac.signal;

beforeAll(async () => {
  h = await startHarness();
  env = await openExecEnv(h.manager);
  cs = await startSession({
    conn: h.open,
    name: 'exec-test',
    attachables: [
      secretsAttachable([{ id: 'mysecret', env: 'KILN_EXEC_SECRET' }], { KILN_EXEC_SECRET: 's3cr3t-value' }),
    ],
    signal,
  });
});

afterAll(async () => {
  await cs.close();
  ac.abort(new Error('tests over'));
  await env.close();
  await h.close();
});

async function run(op: ReturnType<typeof execOp>, c = ctx(signal), factory = env.factory) {
  const outs = await factory(op, { numInputs: 1, platform: null, name: 'test' }).exec(c, [env.busybox]);
  return { outs, log: c.out() };
}

const cacheMount = (id: string, sharing = 0) => ({
  input: -1,
  dest: '/cache',
  output: -1,
  mountType: 3,
  cacheOpt: { ID: id, sharing },
});

async function releaseAll(refs: ImmutableRef[]) {
  await Promise.all(refs.map((r) => r.release()));
}

describe('exec mounts', () => {
  it('keeps cache mount content across steps and across managers', async () => {
    const mounts = [{ input: 0, dest: '/', output: 0 }, cacheMount('c1')];
    const first = await run(execOp({ args: sh('echo 1 >> /cache/count; cat /cache/count | wc -l'), mounts }));
    await releaseAll(first.outs);
    expect(first.log.trim()).toBe('1');
    const second = await run(
      execOp({ args: sh('echo 1 >> /cache/count; cat /cache/count | wc -l'), mounts }),
    );
    expect(second.log.trim()).toBe('2');
    expect(
      await lstat(path.join((second.outs[0] as ImmutableRef).snapshot.dir, 'cache')).catch(() => undefined),
    ).toBe(undefined);
    await releaseAll(second.outs);
    // A new manager over the same directory: what a daemon restart sees.
    const factory = createExecOp({
      refs: env.cache,
      executor: env.executor,
      sessions: h.manager,
      cacheMounts: new CacheMountManager(path.join(env.root, 'cache-mounts')),
      workRoot: env.workRoot,
      hashCache: new ContentHashCache(),
    });
    const third = await run(execOp({ args: sh('cat /cache/count | wc -l'), mounts }), ctx(signal), factory);
    await releaseAll(third.outs);
    expect(third.log.trim()).toBe('2');
  });

  it('serialises locked cache mounts', async () => {
    const mounts = [{ input: 0, dest: '/', output: -1 }, cacheMount('c-locked', 2)];
    const script = 'echo start >> /cache/log; sleep 0.3; echo end >> /cache/log';
    const results = await Promise.all([0, 1, 2].map(() => run(execOp({ args: sh(script), mounts }))));
    for (const r of results) await releaseAll(r.outs);
    const check = await run(execOp({ args: sh('cat /cache/log'), mounts }));
    expect(check.log.trim().split('\n')).toEqual(['start', 'end', 'start', 'end', 'start', 'end']);
  });

  it('gives a busy private cache another directory', async () => {
    const mounts = [{ input: 0, dest: '/', output: -1 }, cacheMount('c-private', 1)];
    const script = 'touch /cache/$$; sleep 0.3; ls /cache | wc -l';
    const results = await Promise.all([0, 1].map(() => run(execOp({ args: sh(script), mounts }))));
    expect(results.map((r) => r.log.trim())).toEqual(['1', '1']);
  });

  it('mounts a secret readable in the step and absent from the output', async () => {
    const mounts = [
      { input: 0, dest: '/', output: 0 },
      {
        input: -1,
        dest: '/run/secrets/mysecret',
        output: -1,
        mountType: 1,
        secretOpt: { ID: 'mysecret', uid: 1000, mode: 0o400 },
      },
    ];
    const { outs, log } = await run(
      execOp({
        args: sh('cat /run/secrets/mysecret; echo; stat -c "%u %a" /run/secrets/mysecret'),
        user: 'app',
        mounts,
      }),
      ctx(signal, [cs.id]),
    );
    const [out] = outs as [ImmutableRef];
    try {
      expect(log).toContain('s3cr3t-value');
      expect(log).toContain('1000 400');
      expect(await lstat(path.join(out.snapshot.dir, 'run')).catch(() => undefined)).toBe(undefined);
      // Nowhere under the daemon's root: not in a snapshot, a cache mount or scratch space.
      const grep = spawnSync('grep', ['-r', '-l', 's3cr3t-value', env.root], { encoding: 'utf8' });
      expect(grep.stdout).toBe('');
    } finally {
      await out.release();
    }
  });

  it('fails on a missing secret unless optional', async () => {
    const secret = (optional: boolean) => ({
      input: -1,
      dest: '/run/secrets/nope',
      output: -1,
      mountType: 1,
      secretOpt: { ID: 'nope', optional },
    });
    const mk = (optional: boolean) =>
      execOp({
        args: sh('test ! -e /run/secrets/nope'),
        mounts: [{ input: 0, dest: '/', output: -1 }, secret(optional)],
      });
    await expect(run(mk(false), ctx(signal, [cs.id]))).rejects.toThrow('secret nope not found');
    const ok = await run(mk(true), ctx(signal, [cs.id]));
    expect(ok.outs).toEqual([]);
  });

  it('cancels a running step and kills its process', async () => {
    const stop = new AbortController();
    const c = ctx(stop.signal);
    const started = Date.now();
    const p = run(execOp({ args: sh('echo started; sleep 30') }), c);
    while (!c.out().includes('started')) await new Promise((r) => setTimeout(r, 50));
    stop.abort(new Error('user cancelled'));
    await expect(p).rejects.toThrow('user cancelled');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await env.executor.list(signal)).toEqual([]);
  });

  it('binds a read-only input and a writable output mount', async () => {
    const op = execOp({
      args: sh('cat /src/keep.txt; echo w > /out/w.txt; ! touch /src/x 2>/dev/null'),
      mounts: [
        { input: 0, dest: '/', output: 0 },
        { input: 0, dest: '/src', output: -1, readonly: true, selector: '/data' },
        { input: -1, dest: '/out', output: 1 },
      ],
    });
    const { outs, log } = await run(op);
    try {
      expect(log).toContain('keep');
      expect(outs).toHaveLength(2);
      expect(await readFile(path.join((outs[1] as ImmutableRef).snapshot.dir, 'w.txt'), 'utf8')).toBe('w\n');
    } finally {
      await releaseAll(outs);
    }
  });
});
