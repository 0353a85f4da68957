import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FrameType, smallFrame, u32 } from '../../daemon/session/h2/frames.js';
import { TunnelGrpcClient } from '../../daemon/session/tunnel-client.js';
import { bytesMessagePrefix, writeBytesMessagePrefix } from '../../proto/grpc-raw-stream.js';
import { TunnelDuplex } from '../../daemon/session/tunnel-duplex.js';
import { encodeMessage } from '../../proto/codec.js';
import { EncodedMessage, loadGrpcServices } from '../../proto/grpc-services.js';

/** gRPC's length-prefixed framing of a message body. */
function grpcFrame(body: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.byteLength, 1);
  return Buffer.concat([head, body]);
}

/** A client-side BytesMessage call: no HTTP/2 stream to find, so the tunnel writes messages. */
class FakeCall extends EventEmitter {
  readonly written: { data: Uint8Array; [EncodedMessage]?: Uint8Array }[] = [];
  full = false;
  write(m: { data: Uint8Array }): boolean {
    this.written.push(m);
    return !this.full;
  }
  end(): void {}
  pause(): void {}
  resume(): void {}
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

describe('BytesMessage framing by hand', () => {
  it('matches the schema codec behind gRPC framing for every varint length', () => {
    for (const n of [0, 1, 127, 128, 16_383, 16_384, 300_000, 1024 * 1024, 2_097_152]) {
      const data = pattern(n, n);
      const expected = grpcFrame(encodeMessage('moby.filesync.v1.BytesMessage', { data }));
      const head = bytesMessagePrefix(n);
      expect(Buffer.concat([head, data]).equals(expected)).toBe(true);
      const buf = Buffer.alloc(head.byteLength + 3);
      expect(writeBytesMessagePrefix(buf, 3, n)).toBe(head.byteLength);
      expect(buf.subarray(3)).toEqual(head);
    }
  });
});

describe('TunnelDuplex (client side, without a raw stream)', () => {
  it('joins one turn of writes into messages of at most 1 MiB carrying their own encoding', async () => {
    const call = new FakeCall();
    const t = new TunnelDuplex(call);
    call.emit('metadata'); // the response headers: nothing under this fake call to write to
    const chunks = [pattern(9, 1), pattern(16_384, 2), Buffer.alloc(0), pattern(3 * 1024 * 1024 + 5, 3)];
    for (let i = 0; i < 40; i++) chunks.push(pattern(40_000 + i, i));
    for (const c of chunks) t.write(c);
    await turn();
    await turn();
    const data = call.written.map((m) => Buffer.from(m.data));
    expect(Buffer.concat(data).equals(Buffer.concat(chunks))).toBe(true);
    expect(Math.max(...data.map((d) => d.byteLength))).toBeLessThanOrEqual(1024 * 1024);
    const { Session } = loadGrpcServices().Control.service as unknown as Record<
      string,
      { requestSerialize(v: object): Buffer; responseSerialize(v: object): Buffer }
    >;
    for (const m of call.written) {
      const schema = Buffer.from(encodeMessage('moby.buildkit.v1.BytesMessage', { data: m.data }));
      expect(Buffer.from(m[EncodedMessage]!).equals(schema)).toBe(true);
      // Kiln's serialisers send the carried encoding; a plain object is still encoded from its fields.
      expect(Session!.requestSerialize(m).equals(schema)).toBe(true);
      expect(Session!.responseSerialize(m).equals(schema)).toBe(true);
      expect(Session!.requestSerialize({ data: m.data }).equals(schema)).toBe(true);
    }
    t.destroy();
  });

  it('runs write callbacks once the chunks are handed on, and holds them while the call is full', async () => {
    const call = new FakeCall();
    const t = new TunnelDuplex(call);
    call.emit('metadata'); // the response headers: nothing under this fake call to write to
    let firstDone = false;
    t.write(pattern(100, 1), () => {
      firstDone = true;
    });
    expect(firstDone).toBe(false);
    await turn();
    expect(call.written).toHaveLength(1);
    expect(firstDone).toBe(true);

    call.full = true;
    let secondDone = false;
    t.write(pattern(100, 2), () => {
      secondDone = true;
    });
    await turn();
    await turn();
    expect(call.written).toHaveLength(2);
    expect(secondDone).toBe(false);
    call.full = false;
    call.emit('drain');
    await turn();
    expect(secondDone).toBe(true);
    t.destroy();
  });

  it('fails held writes when destroyed', async () => {
    const call = new FakeCall();
    call.full = true;
    const t = new TunnelDuplex(call);
    call.emit('metadata'); // the response headers: nothing under this fake call to write to
    t.on('error', () => {});
    t.write(pattern(10, 1));
    await turn();
    const err = await new Promise<Error | null | undefined>((resolve) => {
      t.write(pattern(10, 2), resolve);
      setImmediate(() => t.destroy(new Error('gone')));
    });
    expect(err).toBeInstanceOf(Error);
  });
});

describe('daemon tunnel write completion', () => {
  it('releases a large buffer only after every raw write holding its bytes, also when torn down midway', async () => {
    // The raw HTTP/2 stream under the daemon's Session call, on a busy socket: writes complete by hand.
    let hold = false;
    const pending: (() => void)[] = [];
    const raw = new Writable({
      writev(_chunks, cb) {
        if (hold) pending.push(() => cb());
        else cb();
      },
    });
    (raw as unknown as { respond: () => void }).respond = () => {};
    const call = Object.assign(new EventEmitter(), {
      call: { stream: raw, sendMetadata() {} },
      sendMetadata() {},
      write: () => true,
      end() {},
      pause() {},
      resume() {},
    });
    const tunnel = new TunnelDuplex(call);
    const client = new TunnelGrpcClient(tunnel);
    const fromPeer = (b: Buffer) => call.emit('data', { data: b });
    const setting = (id: number, v: number) => {
      const b = Buffer.alloc(6);
      b.writeUInt16BE(id, 0);
      b.writeUInt32BE(v, 2);
      return b;
    };
    // The peer's wide windows and frames: a 1.5 MiB message goes as one DATA frame.
    fromPeer(
      smallFrame(FrameType.SETTINGS, 0, 0, Buffer.concat([setting(4, 8 << 20), setting(5, (1 << 24) - 1)])),
    );
    fromPeer(smallFrame(FrameType.WINDOW_UPDATE, 0, 0, u32(8 << 20)));
    await turn();
    await turn();
    const c = client.stream('/x/y', {}, new AbortController().signal);
    c.done.catch(() => {});
    await turn();
    await turn();
    hold = true;
    let released = false;
    // Over the tunnel's 1 MiB message size: it goes out as two messages, the callback on the second.
    c.writeFrames(Buffer.from([0, 0, 0x18, 0, 0]));
    c.writeFrames(Buffer.alloc(1536 * 1024, 0xaa), () => {
      released = true;
    });
    // Microtasks and ticks only: the tunnel's own turn (which would send the rest) must not come.
    for (let i = 0; i < 100 && pending.length === 0; i++) await Promise.resolve();
    expect(pending.length).toBeGreaterThan(0);
    // The session closes before the tunnel wrote the rest.
    client.close();
    await turn();
    expect(released).toBe(false);
    hold = false;
    for (const done of pending.splice(0)) done();
    await turn();
    expect(released).toBe(true);
  });
});
