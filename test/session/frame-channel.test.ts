import { EventEmitter } from 'node:events';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { serverFrameChannel } from '../../client/session/attachable.js';
import type { FrameListener } from '../../worker/fs/fsutil-send.js';

// The client's frame channel reads a call's messages straight off its HTTP/2 stream in place of
// grpc-js: messages cut anywhere across chunks, the end, and what grpc-js would refuse.

/** An HTTP/2 stream as grpc-js leaves it: paused, one 'data' listener of its own. */
class FakeStream extends EventEmitter {
  readableEnded = false;
  destroyed = false;
  closed = false;
  writableLength = 0;
  paused = true;
  readonly written: Buffer[] = [];
  grpcSaw = 0;
  constructor() {
    super();
    this.on('data', () => this.grpcSaw++);
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  write(b: Buffer, cb?: () => void): boolean {
    this.written.push(b);
    cb?.();
    return true;
  }
  respond(): void {}
}

function fakeCall(stream: FakeStream): ServerDuplexStream<Buffer, Buffer> {
  const call = Object.assign(new EventEmitter(), {
    call: { stream, sendMetadata: () => {} },
    destroyed: false,
    writableEnded: false,
    cancelled: false,
    sendMetadata: () => {},
    end: () => {},
  });
  return call as unknown as ServerDuplexStream<Buffer, Buffer>;
}

function recorder() {
  const got: string[] = [];
  const events: string[] = [];
  const listener: FrameListener = {
    message: (b) => got.push(Buffer.from(b).toString('hex')),
    packet: () => events.push('packet'),
    end: () => events.push('end'),
    error: (e) => events.push(`error: ${(e as Error).message}`),
  };
  return { got, events, listener };
}

function frame(body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.byteLength, 1);
  return Buffer.concat([head, body]);
}

describe('serverFrameChannel', () => {
  it('hands over every message however the bytes are cut, then the end', () => {
    const bodies = [
      Buffer.from([0x08, 0x01, 0x18, 0x05]),
      Buffer.alloc(0),
      Buffer.from([0x08, 0x03]),
      Buffer.alloc(70_000, 7),
      Buffer.from([0x08, 0x01]),
    ];
    const wire = Buffer.concat(bodies.map(frame));
    const want = bodies.map((b) => b.toString('hex'));
    for (const cuts of [[1], [3, 4, 5, 6], [9, 20, 70_010], [2, 11, 12, 13, 70_020, 70_021]]) {
      const stream = new FakeStream();
      const channel = serverFrameChannel(fakeCall(stream))!;
      const r = recorder();
      channel.listen(r.listener);
      expect(stream.paused).toBe(false);
      let at = 0;
      for (const cut of [...cuts, wire.byteLength]) {
        stream.emit('data', wire.subarray(at, cut));
        at = cut;
      }
      expect(r.got).toEqual(want);
      expect(stream.grpcSaw).toBe(0);
      stream.emit('end');
      stream.emit('close');
      expect(r.events).toEqual(['end']);
    }
  });

  it('keeps what comes before the listener, drops what comes after release', () => {
    const stream = new FakeStream();
    const channel = serverFrameChannel(fakeCall(stream))!;
    stream.emit('data', frame(Buffer.from([0x08, 0x03])));
    stream.emit('end');
    const r = recorder();
    channel.listen(r.listener);
    expect(r.got).toEqual(['0803']);
    expect(r.events).toEqual(['end']);

    const s2 = new FakeStream();
    const c2 = serverFrameChannel(fakeCall(s2))!;
    const r2 = recorder();
    c2.listen(r2.listener);
    c2.release();
    s2.emit('data', frame(Buffer.from([0x08, 0x03])));
    s2.emit('end');
    expect(r2.got).toEqual([]);
    expect(r2.events).toEqual([]);
  });

  it('refuses compressed and oversized messages as grpc-js would', () => {
    for (const [head, message] of [
      [Buffer.from([1, 0, 0, 0, 1, 0]), /compressed/],
      [Buffer.from([0, 0x7f, 0, 0, 0]), /larger than max/],
    ] as const) {
      const stream = new FakeStream();
      const channel = serverFrameChannel(fakeCall(stream))!;
      const r = recorder();
      channel.listen(r.listener);
      stream.emit('data', head.subarray(0, 3));
      stream.emit('data', head.subarray(3));
      stream.emit('data', frame(Buffer.from([0x08, 0x03])));
      stream.emit('end');
      expect(r.got).toEqual([]);
      expect(r.events).toHaveLength(1);
      expect(r.events[0]).toMatch(message);
    }
  });

  it('writes batches to the stream after the response headers', () => {
    const stream = new FakeStream();
    const call = fakeCall(stream);
    let headers = 0;
    (call as unknown as { sendMetadata: () => void }).sendMetadata = () => headers++;
    const channel = serverFrameChannel(call)!;
    let done = 0;
    expect(channel.write(frame(Buffer.from([0x08, 0x03])), () => done++)).toBe(true);
    expect(channel.write(frame(Buffer.alloc(0)))).toBe(true);
    expect(headers).toBe(1);
    expect(done).toBe(1);
    expect(stream.written.map((b) => b.toString('hex'))).toEqual(['00000000020803', '0000000000']);
  });
});
