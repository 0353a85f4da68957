import { describe, expect, it } from 'vitest';
import { dumpDefinition } from '../../client/llb/dump.js';
import {
  copy,
  image,
  local,
  marshal,
  merge,
  mkdir,
  mkfile,
  normalizeImageRef,
  scratch,
} from '../../client/llb/index.js';
import { decodeMessage, digestOf } from '../../proto/codec.js';

interface DecodedInput {
  digest: string;
  index: number;
}
interface DecodedAction {
  input: number;
  secondaryInput: number;
  output: number;
  action: string;
  copy?: { src: string; dest: string; mode: number; owner: unknown };
  mkdir?: { path: string };
}
interface DecodedOp {
  inputs: DecodedInput[];
  op?: string;
  file?: { actions: DecodedAction[] };
  merge?: { inputs: { input: number }[] };
  source?: { identifier: string; attrs: Record<string, string> };
}

const decode = (b: Uint8Array | undefined): DecodedOp =>
  decodeMessage<DecodedOp>('pb.Op', b ?? new Uint8Array());

describe('LLB State + marshal', () => {
  it('scratch marshals to an empty definition', () => {
    expect(marshal(scratch()).def).toEqual([]);
  });

  it('ends with a terminal op pointing at the result, and lists inputs first', () => {
    const ctx = local('context', { sessionId: 's1' });
    const st = scratch().file(copy(ctx, '/a', '/b'));
    const def = marshal(st);
    expect(def.def).toHaveLength(3);
    const [src, file, term] = def.def.map(decode);
    expect(src?.source?.identifier).toBe('local://context');
    expect(src?.source?.attrs).toEqual({ 'local.session': 's1' });
    expect(file?.inputs).toEqual([{ digest: digestOf(def.def[0] as Uint8Array), index: 0 }]);
    expect(term?.op).toBeUndefined();
    expect(term?.inputs).toEqual([{ digest: digestOf(def.def[1] as Uint8Array), index: 0 }]);
    expect(Object.keys(def.metadata)).toContain(digestOf(def.def[2] as Uint8Array));
  });

  it('is deterministic: same graph → same bytes, whatever the attr/map insertion order', () => {
    const a = local('c', { sessionId: 's', sharedKeyHint: 'k', excludePatterns: ['x'], followPaths: ['a'] });
    const b = local('c', { followPaths: ['a'], excludePatterns: ['x'], sharedKeyHint: 'k', sessionId: 's' });
    const build = (l: typeof a) =>
      scratch().file(mkdir('/x', 0o755).copy(l, 'a', '/x/'), {
        description: { z: '1', a: '2' },
        customName: 'n',
      });
    const d1 = marshal(build(a));
    const d2 = marshal(build(b));
    expect(d1.def.map((x) => Buffer.from(x).toString('hex'))).toEqual(
      d2.def.map((x) => Buffer.from(x).toString('hex')),
    );
    expect(Object.keys(d1.metadata).sort()).toEqual(Object.keys(d2.metadata).sort());
    expect(marshal(build(a)).def.map(digestOf)).toEqual(d1.def.map(digestOf));
  });

  it('chains file actions: first on input 0, then n+k, output -1 except last', () => {
    const base = image('busybox');
    const ctx = local('context');
    const other = local('other');
    const fa = mkdir('/a', 0o755).copy(ctx, '/x', '/a/').copy(other, '/y', '/a/').mkfile('/a/f', 0o644, 'hi');
    const def = marshal(base.file(fa));
    const file = decode(def.def[def.def.length - 2]);
    expect(file.inputs).toHaveLength(3);
    const actions = file.file?.actions ?? [];
    expect(actions.map((a) => [a.input, a.secondaryInput, a.output])).toEqual([
      [0, -1, -1],
      [3, 1, -1],
      [4, 2, -1],
      [5, -1, 0],
    ]);
    // input order of the op = the order secondary inputs were met; first one is the base
    expect(
      decode(
        def.def.find(
          (b) => decode(b).file === undefined && decode(b).source?.identifier.startsWith('docker-image'),
        ),
      ).source?.identifier,
    ).toBe('docker-image://docker.io/library/busybox:latest');
  });

  it('uses -1 for a scratch base and a scratch copy source', () => {
    const def = marshal(scratch().file(mkdir('/a', 0o755).copy(scratch(), '/x', '/y')));
    const file = decode(def.def[0]);
    expect(file.inputs).toEqual([]);
    expect(file.file?.actions.map((a) => [a.input, a.secondaryInput, a.output])).toEqual([
      [-1, -1, -1],
      [0, -1, 0],
    ]);
  });

  it('resolves paths against the state dir and keeps a trailing slash on copy dest', () => {
    const ctx = local('context').dir('/src');
    const st = scratch()
      .dir('/app')
      .file(mkdir('sub', 0o755).copy(ctx, 'rel', 'out/').copy(ctx, '/abs', '.'));
    const [, file] = dumpDefinition(marshal(st));
    expect(JSON.stringify(file?.op)).toContain('"path":"/app/sub"');
    const actions = (decode(marshal(st).def[1]).file?.actions ?? []).map((a) => a.copy);
    expect(actions[1]).toMatchObject({ src: '/src/rel', dest: '/app/out/', mode: -1 });
    expect(actions[2]).toMatchObject({ src: '/abs', dest: '/app' });
  });

  it('deduplicates equal ops reached twice and shared inputs', () => {
    const ctx = local('context');
    const a = scratch().file(copy(ctx, '/a', '/a'));
    const b = scratch().file(copy(ctx, '/a', '/a'));
    const m = merge([image('alpine'), a, b]);
    const def = marshal(m);
    const digests = def.def.map(digestOf);
    expect(new Set(digests).size).toBe(digests.length);
    const mergeOp = decode(def.def[def.def.length - 2]);
    expect(mergeOp.merge?.inputs.map((i) => i.input)).toEqual([0, 1, 2]);
    expect(mergeOp.inputs[1]).toEqual(mergeOp.inputs[2]);
    // image + local + file (once) + merge + terminal
    expect(def.def).toHaveLength(5);
  });

  it('merge drops scratch and skips the MergeOp for a single layer', () => {
    const layer = scratch().file(mkfile('/f', 0o644, 'x'));
    expect(merge([scratch(), layer])).toBe(layer);
  });

  it('tracks env, dir and user immutably', () => {
    const s0 = scratch();
    const s1 = s0.addEnv('A', '1').dir('/x').dir('y').user('app');
    expect(s0.getEnv('A')).toBeUndefined();
    expect(s1.getEnv('A')).toBe('1');
    expect(s1.getDir()).toBe('/x/y');
    expect(s1.getUser()).toBe('app');
    expect(s1.addEnv('A', '2').envList()).toEqual(['A=2']);
  });

  it('records custom names, ignore-cache and progress groups in metadata only', () => {
    const plain = scratch().file(mkfile('/f', 0o644, 'x'));
    const named = scratch().file(mkfile('/f', 0o644, 'x'), {
      customName: 'hello',
      ignoreCache: true,
      progressGroup: { id: 'pg', name: 'group', weak: true },
    });
    const d1 = marshal(plain);
    const d2 = marshal(named);
    expect(digestOf(d1.def[0] as Uint8Array)).toBe(digestOf(d2.def[0] as Uint8Array));
    const md = d2.metadata[digestOf(d2.def[0] as Uint8Array)] as Record<string, unknown>;
    expect(md).toMatchObject({
      ignore_cache: true,
      description: { 'llb.customname': 'hello' },
      progress_group: { id: 'pg', name: 'group', weak: true },
    });
  });

  it('runs an ExecOp with meta from the state and a root mount', () => {
    const st = image('alpine')
      .addEnv('PATH', '/bin')
      .dir('/w')
      .user('1000')
      .run({ args: ['/bin/sh', '-c', 'true'] });
    const def = marshal(st.root());
    const exec = decodeMessage<{
      exec: {
        meta: { args: string[]; env: string[]; cwd: string; user: string };
        mounts: { dest: string; output: number; input: number }[];
      };
      platform: { OS: string };
    }>('pb.Op', def.def[1] as Uint8Array);
    expect(exec.exec.meta).toMatchObject({
      args: ['/bin/sh', '-c', 'true'],
      env: ['PATH=/bin'],
      cwd: '/w',
      user: '1000',
    });
    expect(exec.exec.mounts).toMatchObject([{ dest: '/', input: 0, output: 0 }]);
    expect(exec.platform.OS).toBe('linux');
  });

  it('normalizes image references like docker', () => {
    expect(normalizeImageRef('alpine')).toBe('docker.io/library/alpine:latest');
    expect(normalizeImageRef('user/app:1')).toBe('docker.io/user/app:1');
    expect(normalizeImageRef('localhost:5000/app')).toBe('localhost:5000/app:latest');
    expect(normalizeImageRef('ghcr.io/a/b@sha256:abc')).toBe('ghcr.io/a/b@sha256:abc');
  });
});
