import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LlbVertexOp } from '../../daemon/solver/llb-types.js';
import { createOpResolver } from '../../daemon/solver/ops/op-resolver.js';
import type { ImmutableRef, MutableRef, OpContext, RefManager, Vertex } from '../../daemon/solver/types.js';
import { decodeMessage, digestOf, encodeMessage } from '../../proto/codec.js';
import { InvalidArgumentError } from '../../proto/errors.js';
import type { Op__Output } from '../../proto/generated/pb/Op.js';
import { ContentHashCache } from '../../worker/fs/content-hash.js';
import { createNativeSnapshotter } from '../../worker/snapshot/native.js';
import type { SnapshotInfo, Snapshotter } from '../../worker/snapshot/types.js';
import { tempDir } from '../worker/fs-helpers.js';

/** Plain refs over the real native snapshotter. */
function refManager(sn: Snapshotter): RefManager & { handle(info: SnapshotInfo): ImmutableRef } {
  const handle = (info: SnapshotInfo): ImmutableRef => {
    const ref: ImmutableRef = {
      id: info.id,
      snapshot: info,
      clone: () => handle(info),
      release: async () => {},
      [Symbol.asyncDispose]: async () => {},
    };
    return ref;
  };
  return {
    handle,
    parentOf: async () => undefined,
    getLayer: () => undefined,
    setLayer: async () => {},
    get: async (id: string) => {
      const info = await sn.get(id);
      return info ? handle(info) : undefined;
    },
    newMutable: async (parent, opts, signal): Promise<MutableRef> => {
      const m = await sn.prepare(parent?.snapshot, signal, opts.share ? { share: opts.share } : {});
      let done = false;
      const ref: MutableRef = {
        id: m.id,
        dir: m.dir,
        commit: async (s) => {
          done = true;
          return handle(await m.commit(s));
        },
        release: async () => {
          if (done) return;
          done = true;
          await m.discard();
        },
        [Symbol.asyncDispose]: () => ref.release(),
      };
      return ref;
    },
  } as RefManager & { handle(info: SnapshotInfo): ImmutableRef };
}

const ctx: OpContext = {
  signal: new AbortController().signal,
  progress: { status() {}, log() {} },
  sessionIds: [],
};

function vertex(opValue: object): Vertex {
  const bytes = encodeMessage('pb.Op', opValue);
  const op = decodeMessage<Op__Output>('pb.Op', bytes);
  const llb: LlbVertexOp = { kind: 'llb', op: op as unknown as LlbVertexOp['op'], metadata: {}, bytes };
  return { digest: digestOf(bytes), name: 'v', inputs: [], ignoreCache: false, op: llb };
}

const inputs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ digest: `sha256:${String(i).repeat(64)}`, index: 0 }));

const passwd = 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:2345::/home/app:/bin/sh\n';
const group = 'root:x:0:\nstaff:x:50:app\nwww-data:x:33:\n';

async function setup() {
  const t = await tempDir('kiln-chown-');
  const sn = createNativeSnapshotter(t.path);
  const refs = refManager(sn);
  const resolve = createOpResolver({ refs, sources: new Map(), hashCache: new ContentHashCache() });
  const makeRef = async (files: Record<string, string>) => {
    const m = await sn.prepare(undefined, ctx.signal);
    for (const [p, data] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(m.dir, p)), { recursive: true });
      await writeFile(path.join(m.dir, p), data);
    }
    return refs.handle(await m.commit(ctx.signal));
  };
  return { t, resolve, makeRef };
}

const copy = (src: string, dest: string, owner: object) => ({
  src,
  dest,
  owner,
  mode: -1,
  timestamp: -1,
  followSymlink: true,
  dirCopyContents: true,
  createDestPath: true,
});

describe('FileOp owners by name (NamedUserOpt)', () => {
  it('COPY --chown=app:staff and WORKDIR under USER app look names up in the named input', async () => {
    const { t, resolve, makeRef } = await setup();
    await using _t = t;
    const base = await makeRef({ 'etc/passwd': passwd, 'etc/group': group });
    const src = await makeRef({ 'a.txt': 'a', 'b.txt': 'b' });
    const op = resolve(
      vertex({
        inputs: inputs(2),
        file: {
          actions: [
            {
              input: 0,
              secondaryInput: -1,
              output: -1,
              mkdir: {
                path: '/work',
                mode: 0o755,
                makeParents: true,
                timestamp: -1,
                owner: { user: { byName: { name: 'app', input: 0 } } },
              },
            },
            {
              input: 2,
              secondaryInput: 1,
              output: -1,
              copy: copy('/a.txt', '/work/', {
                user: { byName: { name: 'app', input: 0 } },
                group: { byName: { name: 'staff', input: 0 } },
              }),
            },
            {
              // The user database of the previous action's result (n + 1) is consulted.
              input: 3,
              secondaryInput: 1,
              output: 0,
              copy: copy('/b.txt', '/work/', {
                user: { byID: 7 },
                group: { byName: { name: 'www-data', input: 3 } },
              }),
            },
          ],
        },
      }),
    );
    const [out] = await op.exec(ctx, [base, src]);
    expect(out).toBeDefined();
    const dir = (out as ImmutableRef).snapshot.dir;
    const w = await stat(path.join(dir, 'work'));
    expect([w.uid, w.gid]).toEqual([1234, 2345]);
    const a = await stat(path.join(dir, 'work/a.txt'));
    expect([a.uid, a.gid]).toEqual([1234, 50]);
    const b = await stat(path.join(dir, 'work/b.txt'));
    expect([b.uid, b.gid]).toEqual([7, 33]);
  });

  it('an unknown name fails clearly; the input user database is part of the cache key', async () => {
    const { t, resolve, makeRef } = await setup();
    await using _t = t;
    const base = await makeRef({ 'etc/passwd': passwd, 'etc/group': group });
    const src = await makeRef({ 'a.txt': 'a' });
    const mk = (name: string, nameInput: number) =>
      resolve(
        vertex({
          inputs: inputs(2),
          file: {
            actions: [
              {
                input: 1,
                secondaryInput: 0,
                output: 0,
                copy: copy('/a.txt', '/', { user: { byName: { name, input: nameInput } } }),
              },
            ],
          },
        }),
      );
    await expect(mk('nobody-here', 1).exec(ctx, [src, base])).rejects.toThrow(
      'unable to find user nobody-here: no matching entries in passwd file',
    );
    await expect(mk('nobody-here', 1).exec(ctx, [src, base])).rejects.toBeInstanceOf(InvalidArgumentError);
    // Names looked up in a read-only input (0 here is also the copy source) key it by its /etc files.
    const cm = await mk('app', 0).cacheMap(ctx);
    const key = cm.deps[0]?.contentKey;
    expect(key).toBeDefined();
    const other = await makeRef({ 'a.txt': 'a', 'etc/passwd': 'app:x:1:1::/:/bin/sh\n' });
    const same = await makeRef({ 'a.txt': 'a' });
    const k1 = await key!(src, ctx.signal);
    expect(await key!(same, ctx.signal)).toBe(k1);
    expect(await key!(other, ctx.signal)).not.toBe(k1);
    // The base being written is keyed as a whole already.
    expect((await mk('app', 1).cacheMap(ctx)).deps[1]?.contentKey).toBeUndefined();
  });
});
