import { Metadata } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSession } from '../../client/session/start-session.js';
import { TunnelDuplex } from '../../daemon/session/tunnel-duplex.js';
import { BytesMessageDecoder, bytesMessagePrefix, clientCallStream } from '../../proto/grpc-raw-stream.js';
import { type Harness, startHarness } from './harness.js';

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function framed(payloads: Buffer[]): Buffer {
  return Buffer.concat(payloads.flatMap((p) => [bytesMessagePrefix(p.byteLength), p]));
}

describe('BytesMessageDecoder', () => {
  const payloads = [pattern(0, 0), pattern(1, 1), pattern(127, 2), pattern(128, 3), pattern(20_000, 4)];
  const wire = framed(payloads);

  it('hands on the payloads whatever the split of the stream into chunks', () => {
    const expected = Buffer.concat(payloads);
    for (const size of [1, 2, 3, 5, 6, 7, 64, 16_384, wire.byteLength]) {
      const got: Buffer[] = [];
      const d = new BytesMessageDecoder((p) => got.push(Buffer.from(p)));
      for (let pos = 0; pos < wire.byteLength; pos += size) d.write(wire.subarray(pos, pos + size));
      expect(Buffer.concat(got).equals(expected)).toBe(true);
      expect(d.partial).toBe(false);
    }
  });

  it('gives views of the chunks, not copies', () => {
    const got: Buffer[] = [];
    new BytesMessageDecoder((p) => got.push(p)).write(wire);
    expect(got.every((p) => p.buffer === wire.buffer)).toBe(true);
  });

  it('knows when the stream stops inside a message', () => {
    const d = new BytesMessageDecoder(() => {});
    d.write(wire.subarray(0, wire.byteLength - 1));
    expect(d.partial).toBe(true);
  });

  it('rejects compressed messages and messages with other fields', () => {
    const compressed = framed([pattern(10, 1)]);
    compressed[0] = 1;
    expect(() => new BytesMessageDecoder(() => {}).write(compressed)).toThrow(/compressed/);
    const otherField = framed([pattern(10, 1)]);
    otherField[5] = 0x12;
    expect(() => new BytesMessageDecoder(() => {}).write(otherField)).toThrow(/unexpected field/);
    // A message longer than its field: trailing bytes that are no BytesMessage data.
    const longer = Buffer.concat([Buffer.from([0, 0, 0, 0, 4, 0x0a, 1, 7, 0x10])]);
    expect(() => new BytesMessageDecoder(() => {}).write(longer)).toThrow(/lengths differ/);
  });
});

describe('the client call under a tunnel', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('is found once the response headers came, and carries the tunnel both ways', async () => {
    const ac = new AbortController();
    let call: ReturnType<Harness['open']> | undefined;
    const cs = await startSession({
      conn: (md: Metadata) => (call = h.open(md)),
      name: 'x',
      attachables: [],
      signal: ac.signal,
    });
    const s = await h.manager.get(cs.id, { signal: ac.signal });
    expect(call).toBeDefined();
    const found = clientCallStream(call);
    expect(found).toBeDefined();
    expect(found!.stream.destroyed).toBe(false);
    // Health checks go daemon → client → daemon through the taken-over stream.
    for (let i = 0; i < 3; i++) {
      await s.unary('/grpc.health.v1.Health/Check', new Uint8Array(0), {}, ac.signal);
    }
    await cs.close();
    ac.abort();
  });

  it('reads the payloads off the stream once the headers came', async () => {
    const ac = new AbortController();
    const md = new Metadata();
    md.set('x-docker-expose-session-uuid', 'raw-both-ways');
    md.set('x-docker-expose-session-name', 'x');
    md.set('x-docker-expose-session-sharedkey', '');
    const call = h.open(md);
    const clientSide = new TunnelDuplex(call);
    const s = await h.manager.get('raw-both-ways', { signal: ac.signal });
    expect(s).toBeDefined();
    // The daemon's inner HTTP/2 client sends its preface first: the response headers come with it.
    const first = await new Promise<Buffer>((resolve) => clientSide.once('data', resolve));
    expect(first.subarray(0, 24).toString('latin1')).toBe('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    expect(clientCallStream(call)).toBeDefined();
    clientSide.destroy();
    ac.abort();
  });
});
