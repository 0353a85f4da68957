import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlbVertexOp } from '../../daemon/solver/llb-types.js';
import { cleanupExecScratch } from '../../daemon/solver/ops/exec-op.js';
import { StepOutput } from '../../daemon/solver/ops/exec-output.js';
import { createOpResolver } from '../../daemon/solver/ops/op-resolver.js';
import type { ImmutableRef } from '../../daemon/solver/types.js';
import { decodeMessage, digestOf, encodeMessage } from '../../proto/codec.js';
import type { Op__Output } from '../../proto/generated/pb/Op.js';
import { ContentHashCache } from '../../worker/fs/content-hash.js';
import { listMountsUnder, mountTmpfs } from '../../worker/mount/mount.js';
import { ctx, type ExecEnv, openExecEnv } from './harness.js';

const signal = new AbortController().signal;
let env: ExecEnv;

beforeAll(async () => {
  env = await openExecEnv();
});

afterAll(async () => {
  await env.close();
});

function vertexFor(op: object) {
  const bytes = encodeMessage('pb.Op', op);
  const decoded = decodeMessage<Op__Output>('pb.Op', bytes);
  const v: LlbVertexOp = { kind: 'llb', op: decoded, metadata: {}, bytes };
  return { digest: digestOf(bytes), name: 'RUN echo', inputs: [], ignoreCache: false, op: v };
}

describe('exec plumbing', () => {
  it('op-resolver dispatches exec ops, with stable cache maps', async () => {
    const resolve = createOpResolver({
      refs: env.cache,
      sources: new Map(),
      hashCache: new ContentHashCache(),
      exec: env.factory,
    });
    const exec = (proxy: string, selector: string) => ({
      inputs: [{ digest: 'sha256:aa', index: 0 }],
      exec: {
        meta: { args: ['/bin/sh', '-c', 'echo via-resolver'], cwd: '/', proxy_env: { http_proxy: proxy } },
        mounts: [
          { input: 0, dest: '/', output: 0 },
          { input: 0, dest: '/ro', output: -1, readonly: true, selector },
        ],
      },
      platform: { OS: 'linux', Architecture: 'amd64' },
    });
    const a = resolve(vertexFor(exec('http://a', '/data')));
    const b = resolve(vertexFor(exec('http://b', '/bin')));
    const c = ctx(signal);
    const [ma, mb] = await Promise.all([a.cacheMap(c), b.cacheMap(c)]);
    expect(ma.digest).toBe(mb.digest);
    expect(ma.deps[0]?.selector).toBe('/data');
    expect(ma.deps[0]?.contentKey).toBeUndefined(); // also the root: keyed on the input itself
    const outs = await a.exec(c, [env.busybox]);
    await Promise.all(outs.map((o: ImmutableRef) => o.release()));
    expect(c.out()).toContain('via-resolver');
  });

  it('content-keys read-only bind inputs', async () => {
    const resolve = createOpResolver({
      refs: env.cache,
      sources: new Map(),
      hashCache: new ContentHashCache(),
      exec: env.factory,
    });
    const op = {
      inputs: [
        { digest: 'sha256:aa', index: 0 },
        { digest: 'sha256:bb', index: 0 },
      ],
      exec: {
        meta: { args: ['/bin/true'] },
        mounts: [
          { input: 0, dest: '/', output: 0 },
          { input: 1, dest: '/src', output: -1, readonly: true, selector: '/data' },
        ],
      },
    };
    const m = await resolve(vertexFor(op)).cacheMap(ctx(signal));
    expect(m.deps[0]?.contentKey).toBeUndefined();
    expect(m.deps[1]?.selector).toBe('/data');
    const key = await m.deps[1]?.contentKey?.(env.busybox, signal);
    expect(key).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('clips step output at the limit with one note', () => {
    const logs: string[] = [];
    const out = new StepOutput(
      { status: () => {}, log: (_s, d) => logs.push(Buffer.from(d).toString()) },
      10,
    );
    out.write(1, Buffer.from('12345\n'));
    out.write(2, Buffer.from('67890\nabc\n'));
    out.write(1, Buffer.from('more\n'));
    expect(logs.join('')).toBe('12345\n6789\n[output clipped, log limit 0MiB reached]\n');
    expect(out.lastLines(2)).toEqual(['abc', 'more']);
  });

  it('cleanupExecScratch unmounts and removes leftovers', async () => {
    const work = await mkdtemp(path.join(tmpdir(), 'kiln-scratch-'));
    try {
      await mkdir(path.join(work, 'exec-1', 'secrets'), { recursive: true });
      await mountTmpfs(path.join(work, 'exec-1', 'secrets'));
      await writeFile(path.join(work, 'exec-1', 'secrets', '0'), 'x');
      await cleanupExecScratch(work);
      expect(await listMountsUnder(work)).toEqual([]);
      expect(await readdir(work)).toEqual([]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
