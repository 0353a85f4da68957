import { describe, expect, it } from 'vitest';
import { loadDefinition, loadDefinitionBytes } from '../../daemon/solver/llb-loader.js';
import { isLlbVertexOp } from '../../daemon/solver/llb-types.js';
import { decodeMessage, digestOf, encodeMessage } from '../../proto/codec.js';
import { InvalidArgumentError } from '../../proto/errors.js';

const op = (value: object): Uint8Array => encodeMessage('pb.Op', value);
const src = op({ source: { identifier: 'docker-image://docker.io/library/alpine:latest' } });
const srcDigest = digestOf(src);
const run = op({
  inputs: [{ digest: srcDigest, index: 0 }],
  exec: { meta: { args: ['/bin/sh', '-c', 'echo hi'] }, mounts: [{ input: 0, dest: '/', output: 0 }] },
});
const runDigest = digestOf(run);
const terminal = (digest: string, index = 0): Uint8Array => op({ inputs: [{ digest, index }] });

function expectInvalid(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InvalidArgumentError);
  expect((caught as Error).message).toMatch(pattern);
}

describe('loadDefinition', () => {
  it('builds the graph with digests of the exact bytes, names and metadata', () => {
    const edge = loadDefinition({
      def: [src, run, terminal(runDigest)],
      metadata: {
        [runDigest]: { ignore_cache: true, description: { 'llb.customname': '[1/1] RUN echo hi' } },
      },
    });
    expect(edge.index).toBe(0);
    expect(edge.vertex.digest).toBe(runDigest);
    expect(edge.vertex.name).toBe('[1/1] RUN echo hi');
    expect(edge.vertex.ignoreCache).toBe(true);
    const input = edge.vertex.inputs[0];
    expect(input?.vertex.digest).toBe(srcDigest);
    expect(input?.vertex.name).toBe('docker-image://docker.io/library/alpine:latest');
    expect(input?.vertex.ignoreCache).toBe(false);
    const llb = edge.vertex.op;
    expect(isLlbVertexOp(llb)).toBe(true);
    if (isLlbVertexOp(llb)) {
      expect(llb.op.op).toBe('exec');
      expect(digestOf(llb.bytes)).toBe(runDigest);
    }
  });

  it('shares one vertex between two users of the same op', () => {
    const a = op({
      inputs: [{ digest: srcDigest, index: 0 }],
      file: { actions: [{ input: 0, output: 0, mkdir: { path: '/a' } }] },
    });
    const b = op({
      inputs: [{ digest: srcDigest, index: 0 }],
      file: { actions: [{ input: 0, output: 0, mkdir: { path: '/b' } }] },
    });
    const merge = op({
      inputs: [
        { digest: digestOf(a), index: 0 },
        { digest: digestOf(b), index: 0 },
      ],
      merge: { inputs: [{ input: 0 }, { input: 1 }] },
    });
    const edge = loadDefinition({ def: [src, a, b, merge, terminal(digestOf(merge))], metadata: {} });
    expect(edge.vertex.name).toBe('merge (2 inputs)');
    expect(edge.vertex.inputs[0]?.vertex.name).toBe('mkdir /a');
    expect(edge.vertex.inputs[0]?.vertex.inputs[0]?.vertex).toBe(
      edge.vertex.inputs[1]?.vertex.inputs[0]?.vertex,
    );
  });

  it('loads a marshaled pb.Definition', () => {
    const bytes = encodeMessage('pb.Definition', { def: [src, terminal(srcDigest)], metadata: {} });
    const decoded = decodeMessage<{ def: Uint8Array[] }>('pb.Definition', bytes);
    expect(decoded.def).toHaveLength(2);
    expect(loadDefinitionBytes(bytes).vertex.digest).toBe(srcDigest);
  });

  it('rejects garbage bytes naming the op', () => {
    const garbage = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expectInvalid(
      () => loadDefinition({ def: [garbage, terminal(srcDigest)], metadata: {} }),
      new RegExp(`op 0 \\(${digestOf(garbage)}\\) is not a valid pb.Op`),
    );
  });

  it('rejects fewer than two ops', () => {
    expectInvalid(() => loadDefinition({ def: [src], metadata: {} }), /at least 2 ops/);
    expectInvalid(() => loadDefinition({ def: [], metadata: {} }), /at least 2 ops/);
  });

  it('rejects unknown input digests', () => {
    const missing = `sha256:${'0'.repeat(64)}`;
    const dangling = op({ inputs: [{ digest: missing, index: 0 }], exec: { meta: { args: ['true'] } } });
    expectInvalid(
      () => loadDefinition({ def: [dangling, terminal(digestOf(dangling))], metadata: {} }),
      new RegExp(`op 0 \\(${digestOf(dangling)}\\) input 0 refers to unknown op ${missing}`),
    );
  });

  it('rejects output indexes out of range', () => {
    expectInvalid(
      () => loadDefinition({ def: [src, terminal(srcDigest, 1)], metadata: {} }),
      /op 1 .* uses output 1 of op 0/,
    );
    expectInvalid(
      () => loadDefinition({ def: [src, terminal(srcDigest, -1)], metadata: {} }),
      /uses output -1/,
    );
  });

  it('rejects a non-terminal op without an operation, and a last op with one', () => {
    const empty = op({ inputs: [{ digest: srcDigest, index: 0 }] });
    expectInvalid(
      () => loadDefinition({ def: [src, empty, terminal(digestOf(empty))], metadata: {} }),
      /op 1 .* has no operation but is not the last op/,
    );
    expectInvalid(() => loadDefinition({ def: [src, run], metadata: {} }), /must be a terminal op/);
  });

  it('rejects duplicate ops', () => {
    expectInvalid(
      () => loadDefinition({ def: [src, src, terminal(srcDigest)], metadata: {} }),
      /op 1 .* duplicates op 0/,
    );
  });

  it('rejects cycles', () => {
    // sha256 makes a cycle impossible to build on the wire, so name the ops with a digest function.
    const a = op({
      inputs: [{ digest: 'B', index: 0 }],
      exec: { meta: { args: ['a'] }, mounts: [{ output: 0 }] },
    });
    const b = op({
      inputs: [{ digest: 'A', index: 0 }],
      exec: { meta: { args: ['b'] }, mounts: [{ output: 0 }] },
    });
    const t = terminal('B');
    const names = new Map([
      [a, 'A'],
      [b, 'B'],
      [t, 'T'],
    ]);
    expectInvalid(
      () =>
        loadDefinition({ def: [a, b, t], metadata: {} }, { digestOf: (bytes) => names.get(bytes) ?? '?' }),
      /op \d \([AB]\) is part of a cycle/,
    );
  });
});
