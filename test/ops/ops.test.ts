import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LlbVertexOp } from '../../daemon/solver/llb-types.js';
import { createOpResolver } from '../../daemon/solver/ops/op-resolver.js';
import type {
  ImmutableRef,
  MutableRef,
  NewRefOptions,
  OpContext,
  RefManager,
  ResolvedOp,
  Vertex,
} from '../../daemon/solver/types.js';
import { decodeMessage, digestOf, encodeMessage } from '../../proto/codec.js';
import { UnimplementedError } from '../../proto/errors.js';
import type { Op__Output } from '../../proto/generated/pb/Op.js';
import { ContentHashCache } from '../../worker/fs/content-hash.js';
import { createNativeSnapshotter } from '../../worker/snapshot/native.js';
import type { SnapshotInfo, Snapshotter } from '../../worker/snapshot/types.js';
import { tempDir } from '../worker/fs-helpers.js';

/** Refcounted refs over the real native snapshotter; counts live handles so leaks show. */
class FakeRefManager implements RefManager {
  readonly live = new Map<string, number>();
  readonly shares: Array<string | undefined> = [];
  constructor(readonly sn: Snapshotter) {}

  handle(info: SnapshotInfo): ImmutableRef {
    this.live.set(info.id, (this.live.get(info.id) ?? 0) + 1);
    let released = false;
    const ref: ImmutableRef = {
      id: info.id,
      snapshot: info,
      clone: () => this.handle(info),
      release: async () => {
        if (released) return;
        released = true;
        const n = (this.live.get(info.id) ?? 1) - 1;
        if (n === 0) this.live.delete(info.id);
        else this.live.set(info.id, n);
      },
      [Symbol.asyncDispose]: () => ref.release(),
    };
    return ref;
  }

  async parentOf(): Promise<ImmutableRef | undefined> {
    return undefined;
  }

  getLayer(): undefined {
    return undefined;
  }

  async setLayer(): Promise<void> {}

  async newMutable(
    parent: ImmutableRef | undefined,
    opts: NewRefOptions,
    signal: AbortSignal,
  ): Promise<MutableRef> {
    this.shares.push(opts.share);
    const m = await this.sn.prepare(parent?.snapshot, signal, opts.share ? { share: opts.share } : {});
    let done = false;
    const ref: MutableRef = {
      id: m.id,
      dir: m.dir,
      commit: async (s) => {
        done = true;
        return this.handle(await m.commit(s));
      },
      release: async () => {
        if (done) return;
        done = true;
        await m.discard();
      },
      [Symbol.asyncDispose]: () => ref.release(),
    };
    return ref;
  }

  async get(id: string): Promise<ImmutableRef | undefined> {
    const info = await this.sn.get(id);
    return info ? this.handle(info) : undefined;
  }
}

const ctx: OpContext = {
  signal: new AbortController().signal,
  progress: { status() {}, log() {} },
  sessionIds: [],
};

function vertex(opValue: object, name = 'v'): Vertex {
  const bytes = encodeMessage('pb.Op', opValue);
  const op = decodeMessage<Op__Output>('pb.Op', bytes);
  const llb: LlbVertexOp = { kind: 'llb', op: op as unknown as LlbVertexOp['op'], metadata: {}, bytes };
  return { digest: digestOf(bytes), name, inputs: [], ignoreCache: false, op: llb };
}

const inputs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ digest: `sha256:${String(i).repeat(64)}`, index: 0 }));
const copyAction = (src: string, dest: string, extra: object = {}) => ({
  src,
  dest,
  mode: -1,
  timestamp: -1,
  followSymlink: true,
  dirCopyContents: true,
  createDestPath: true,
  allowWildcard: true,
  allowEmptyWildcard: true,
  ...extra,
});

async function setup() {
  const t = await tempDir('kiln-ops-');
  const sn = createNativeSnapshotter(t.path);
  const refs = new FakeRefManager(sn);
  const hashCache = new ContentHashCache();
  const resolve = createOpResolver({ refs, sources: new Map(), hashCache });
  const makeRef = async (files: Record<string, string>) => {
    const m = await sn.prepare(undefined, ctx.signal);
    for (const [p, data] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(m.dir, p)), { recursive: true });
      await writeFile(path.join(m.dir, p), data);
    }
    return refs.handle(await m.commit(ctx.signal));
  };
  return { t, sn, refs, resolve, makeRef };
}

async function run(op: ResolvedOp, ins: ImmutableRef[]) {
  return op.exec(ctx, ins);
}

describe('FileOp', () => {
  it('chains mkdir → mkfile → copy from a second input; base is shared by hardlink and untouched', async () => {
    const { t, refs, resolve, makeRef } = await setup();
    await using _t = t;
    const base = await makeRef({ 'etc/conf': 'base' });
    const ctxRef = await makeRef({ 'app/main.js': 'js', 'app/readme.md': 'md' });
    const v = vertex({
      inputs: inputs(2),
      file: {
        actions: [
          {
            input: 0,
            secondaryInput: -1,
            output: -1,
            mkdir: { path: '/out', mode: 0o755, makeParents: true, timestamp: -1 },
          },
          {
            input: 2,
            secondaryInput: -1,
            output: -1,
            mkfile: { path: '/etc/conf', mode: 0o600, data: Buffer.from('child'), timestamp: -1 },
          },
          { input: 3, secondaryInput: 1, output: 0, copy: copyAction('/app/*.js', '/out/') },
        ],
      },
    });
    const op = resolve(v);
    const [out] = await run(op, [base, ctxRef]);
    expect(out).toBeDefined();
    const dir = out!.snapshot.dir;
    expect(await readFile(path.join(dir, 'etc/conf'), 'utf8')).toBe('child');
    expect(await readFile(path.join(dir, 'out/main.js'), 'utf8')).toBe('js');
    expect(await readdir(path.join(dir, 'out'))).toEqual(['main.js']);
    expect((await stat(path.join(dir, 'etc/conf'))).mode & 0o777).toBe(0o600);
    expect(await readFile(path.join(base.snapshot.dir, 'etc/conf'), 'utf8')).toBe('base');
    expect(refs.shares).toEqual(['hardlink']);
    await out!.release();
    await base.release();
    await ctxRef.release();
    expect(refs.live.size).toBe(0);
  });

  it('cache map: source path basename only, content keys for copy sources', async () => {
    const { t, resolve, makeRef } = await setup();
    await using _t = t;
    const mk = (src: string) =>
      resolve(
        vertex({
          inputs: inputs(2),
          file: { actions: [{ input: 0, secondaryInput: 1, output: 0, copy: copyAction(src, '/dst/') }] },
        }),
      );
    const cm1 = await mk('/a/x.txt').cacheMap(ctx);
    const cm2 = await mk('/b/x.txt').cacheMap(ctx);
    const cm3 = await mk('/b/y.txt').cacheMap(ctx);
    expect(cm1.digest).toBe(cm2.digest);
    expect(cm1.digest).not.toBe(cm3.digest);
    expect(cm1.deps[0]?.contentKey).toBeUndefined();
    expect(cm1.deps[1]?.selector).not.toBe(cm2.deps[1]?.selector);
    const key = cm1.deps[1]?.contentKey;
    expect(key).toBeDefined();
    const r1 = await makeRef({ 'a/x.txt': 'same' });
    const r2 = await makeRef({ 'a/x.txt': 'same', other: 'different' });
    const r3 = await makeRef({ 'a/x.txt': 'changed' });
    const k1 = await key!(r1, ctx.signal);
    expect(await key!(r2, ctx.signal)).toBe(k1);
    expect(await key!(r3, ctx.signal)).not.toBe(k1);
  });

  it('errors name the action and path', async () => {
    const { t, resolve, makeRef } = await setup();
    await using _t = t;
    const base = await makeRef({});
    const missing = resolve(
      vertex({
        inputs: inputs(1),
        file: {
          actions: [
            {
              input: -1,
              secondaryInput: 0,
              output: 0,
              copy: copyAction('/src/x', '/', { allowWildcard: false }),
            },
          ],
        },
      }),
    );
    await expect(run(missing, [base])).rejects.toThrow('copy /src/x: no such file or directory');
    await base.release();
  });
});

describe('MergeOp and others', () => {
  it('merges inputs in order, later wins', async () => {
    const { t, resolve, makeRef, refs } = await setup();
    await using _t = t;
    const a = await makeRef({ x: 'a', 'only-a': '1', 'dir/f': 'a' });
    const b = await makeRef({ x: 'b', dir: 'now a file' });
    const op = resolve(vertex({ inputs: inputs(2), merge: { inputs: [{ input: 0 }, { input: 1 }] } }));
    expect((await op.cacheMap(ctx)).deps).toHaveLength(2);
    const [out] = await run(op, [a, b]);
    const dir = out!.snapshot.dir;
    expect(await readFile(path.join(dir, 'x'), 'utf8')).toBe('b');
    expect(await readFile(path.join(dir, 'only-a'), 'utf8')).toBe('1');
    expect(await readFile(path.join(dir, 'dir'), 'utf8')).toBe('now a file');
    expect(await readFile(path.join(a.snapshot.dir, 'dir/f'), 'utf8')).toBe('a');
    await out!.release();
    await a.release();
    await b.release();
    expect(refs.live.size).toBe(0);
  });

  it('exec, unknown images and diff say what is missing', async () => {
    const { t, resolve } = await setup();
    await using _t = t;
    const exec = resolve(vertex({ inputs: [], exec: { meta: { args: ['true'] }, mounts: [] } }));
    await expect(exec.cacheMap(ctx)).rejects.toThrow('RUN is not supported yet');
    const img = resolve(vertex({ source: { identifier: 'docker-image://docker.io/library/alpine:latest' } }));
    await expect(img.exec(ctx, [])).rejects.toThrow(/docker-image sources are not supported yet/);
    const diff = resolve(vertex({ inputs: [], diff: { lower: { input: -1 }, upper: { input: -1 } } }));
    await expect(diff.cacheMap(ctx)).rejects.toBeInstanceOf(UnimplementedError);
  });

  it('dispatches sources by scheme', async () => {
    const t = await tempDir('kiln-ops-');
    await using _t = t;
    const seen: string[] = [];
    const resolve = createOpResolver({
      refs: new FakeRefManager(createNativeSnapshotter(t.path)),
      hashCache: new ContentHashCache(),
      sources: new Map([
        [
          'local',
          {
            resolve(identifier: string, attrs: Record<string, string>) {
              seen.push(`${identifier} ${attrs['local.session']}`);
              return { cacheMap: async () => ({ digest: 'sha256:x', deps: [] }), exec: async () => [] };
            },
          },
        ],
      ]),
    });
    resolve(vertex({ source: { identifier: 'local://context', attrs: { 'local.session': 's1' } } }));
    expect(seen).toEqual(['local://context s1']);
  });
});
