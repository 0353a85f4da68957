import { describe, expect, it } from 'vitest';
import { decodeMessage, digestOf, encodeMessage } from '../../proto/codec.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

describe('deterministic encoding', () => {
  it('encodes a SourceOp with map attrs sorted, matching hand-computed bytes', () => {
    const reversed = encodeMessage('pb.Op', {
      source: { identifier: 'docker-image://a', attrs: { b: '2', a: '1' } },
    });
    const sorted = encodeMessage('pb.Op', {
      source: { identifier: 'docker-image://a', attrs: { a: '1', b: '2' } },
    });
    // SourceOp: 0a 10 "docker-image://a" | 12 06 (0a 01 'a' 12 01 '1') | 12 06 (0a 01 'b' 12 01 '2') = 34 bytes
    const sourceOp = `0a10${ascii('docker-image://a')}12060a016112013112060a0162120132`;
    const expected = `1a22${sourceOp}`;
    expect(sourceOp.length / 2).toBe(34);
    expect(hex(sorted)).toBe(expected);
    expect(hex(reversed)).toBe(expected);
    expect(digestOf(reversed)).toBe(digestOf(sorted));
  });

  it('sorts integer-like string keys bytewise like Go, not in JS object order', () => {
    // JS enumerates {"9", "10"} as 9, 10; Go sorts the strings: "10" < "9" < "a".
    const bytes = encodeMessage('pb.SourceOp', { attrs: { a: 'x', 9: 'y', 10: 'z' } });
    const entry = (k: string, v: string): string =>
      `12${(4 + k.length + v.length).toString(16).padStart(2, '0')}0a0${k.length}${ascii(k)}120${v.length}${ascii(v)}`;
    expect(hex(bytes)).toBe(entry('10', 'z') + entry('9', 'y') + entry('a', 'x'));
  });

  it('writes fields in field-number order whatever the object key order', () => {
    const a = encodeMessage('pb.Op', {
      constraints: { filter: ['x'] },
      platform: { OS: 'linux', Architecture: 'amd64' },
      inputs: [{ index: 1, digest: 'sha256:aa' }],
      exec: { mounts: [{ dest: '/', input: 0, output: 0 }], meta: { cwd: '/', args: ['sh'] } },
    });
    const b = encodeMessage('pb.Op', {
      inputs: [{ digest: 'sha256:aa', index: 1 }],
      exec: { meta: { args: ['sh'], cwd: '/' }, mounts: [{ input: 0, dest: '/', output: 0 }] },
      platform: { Architecture: 'amd64', OS: 'linux' },
      constraints: { filter: ['x'] },
    });
    expect(hex(a)).toBe(hex(b));
    const expected = [
      `0a0d0a09${ascii('sha256:aa')}1001`, // inputs=1: Input{digest, index=1}
      `120e0a070a02${ascii('sh')}1a01${ascii('/')}12031a01${ascii('/')}`, // exec=2: ExecOp{meta{args,cwd}, mounts[{dest}]}
      `520e0a05${ascii('amd64')}1205${ascii('linux')}`, // platform=10
      `5a030a01${ascii('x')}`, // constraints=11
    ].join('');
    expect(hex(a)).toBe(expected);
  });

  it('omits proto3 zero values but keeps oneof members and empty messages (presence)', () => {
    // Mount{input:0, dest:"/", output:0, readonly:false}: only dest is written.
    expect(
      hex(encodeMessage('pb.Mount', { input: 0, dest: '/', output: 0, readonly: false, selector: '' })),
    ).toBe(`1a01${ascii('/')}`);
    // UserOpt.byID = 0 is a oneof member set to zero: still written (10 00).
    expect(hex(encodeMessage('pb.UserOpt', { byID: 0 }))).toBe('1000');
    // An empty nested message is written as a zero-length field.
    expect(hex(encodeMessage('pb.ExecOp', { meta: {} }))).toBe('0a00');
    // Negative int64 uses 10-byte two's complement varints, as Go does (-1 → ff..ff 01).
    expect(hex(encodeMessage('pb.Mount', { output: -1 }))).toBe('20ffffffffffffffffff01');
  });

  it('packs repeated scalars as Go does in proto3', () => {
    // Meta.validExitCodes = 12 (repeated int32): tag 0x62, length 3, varints 0 1 2.
    expect(hex(encodeMessage('pb.Meta', { validExitCodes: [0, 1, 2] }))).toBe('6203000102');
    // Repeated strings are never packed.
    expect(hex(encodeMessage('pb.Meta', { args: ['a', ''] }))).toBe(`0a01${ascii('a')}0a00`);
  });

  it('accepts a oneof chosen by its virtual property and rejects ambiguous or unknown input', () => {
    const viaName = encodeMessage('pb.Op', { op: 'source', source: { identifier: 'local://x' } });
    const plain = encodeMessage('pb.Op', { source: { identifier: 'local://x' } });
    expect(hex(viaName)).toBe(hex(plain));
    expect(() => encodeMessage('pb.Op', { source: {}, exec: {} })).toThrow(/several members/);
    expect(() => encodeMessage('pb.Op', { Source: {} })).toThrow(/no such field/);
    expect(() => encodeMessage('pb.Nope', {})).toThrow(/unknown protobuf message type/);
  });

  it('round-trips through decodeMessage with defaults, oneof name and Buffer bytes', () => {
    const bytes = encodeMessage('pb.Definition', {
      def: [Buffer.from('op1'), Buffer.from('op2')],
      metadata: {
        'sha256:b': { ignore_cache: true },
        'sha256:a': { description: { 'llb.customname': 'x' } },
      },
    });
    const def = decodeMessage<{
      def: Buffer[];
      metadata: Record<string, { ignore_cache: boolean; description: Record<string, string>; caps: object }>;
      Source: unknown;
    }>('pb.Definition', bytes);
    expect(def.def.map((b) => b.toString())).toEqual(['op1', 'op2']);
    expect(Buffer.isBuffer(def.def[0])).toBe(true);
    expect(def.Source).toBeNull();
    expect(def.metadata['sha256:b']?.ignore_cache).toBe(true);
    expect(def.metadata['sha256:a']?.description).toEqual({ 'llb.customname': 'x' });
    expect(def.metadata['sha256:a']?.caps).toEqual({});
    // Re-encoding the decoded object gives the same bytes.
    expect(hex(encodeMessage('pb.Definition', def))).toBe(hex(bytes));

    const op = decodeMessage<Record<string, unknown>>(
      'pb.Op',
      encodeMessage('pb.Op', { file: { actions: [] } }),
    );
    expect(op.op).toBe('file');
    expect(op.file).toEqual({ actions: [] });
    expect('exec' in op).toBe(false);
    expect(op.inputs).toEqual([]);
    expect(op.platform).toBeNull();
  });

  it('decodes int64 as number or, when asked, exact bigint', () => {
    const modTime = 1_700_000_000_123_456_789n;
    const bytes = encodeMessage('fsutil.types.Stat', { path: 'a', mode: 0o644, modTime, size: 5 });
    const big = decodeMessage<{ modTime: bigint; size: bigint; uid: number }>('fsutil.types.Stat', bytes, {
      longs: 'bigint',
    });
    expect(big.modTime).toBe(modTime);
    expect(big.size).toBe(5n);
    expect(big.uid).toBe(0);
    const num = decodeMessage<{ modTime: number; size: number; xattrs: object; linkname: string }>(
      'fsutil.types.Stat',
      bytes,
    );
    expect(num.size).toBe(5);
    expect(num.modTime).toBe(Number(modTime));
    expect(num.xattrs).toEqual({});
    expect(num.linkname).toBe('');
    const neg = decodeMessage<{ input: number }>('pb.Mount', encodeMessage('pb.Mount', { input: -1 }));
    expect(neg.input).toBe(-1);
    const negBig = decodeMessage<{ input: bigint }>('pb.Mount', encodeMessage('pb.Mount', { input: -5n }), {
      longs: 'bigint',
    });
    expect(negBig.input).toBe(-5n);
  });

  it('computes sha256 digests', () => {
    expect(digestOf(new Uint8Array())).toBe(
      'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });
});
