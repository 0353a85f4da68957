import { mkdtemp, rm } from 'node:fs/promises';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TunnelGrpcClient } from '../../daemon/session/tunnel-client.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function frame(body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.byteLength, 1);
  return Buffer.concat([head, body]);
}

/** A TunnelGrpcClient connected over a unix socket to an HTTP/2 server that answers with `onStream`. */
async function clientOf(onStream: (stream: http2.ServerHttp2Stream) => void): Promise<TunnelGrpcClient> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-framing-'));
  cleanups.push(() => rm(tmp, { recursive: true, force: true }));
  const server = http2.createServer();
  server.on('stream', onStream);
  const sock = path.join(tmp, 'h2.sock');
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const socket = net.connect(sock);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const client = new TunnelGrpcClient(socket);
  cleanups.push(() => client.close());
  return client;
}

describe('TunnelGrpcClient framing', () => {
  it.each(['one by one', 'in batches'])(
    'reassembles messages whose prefix and body are split across DATA frames (read %s)',
    async (how) => {
      const messages = [
        Buffer.from('hello'),
        Buffer.alloc(0),
        Buffer.alloc(300_000, 7),
        Buffer.from('x'),
        Buffer.alloc(70_000, 9),
      ];
      const wire = Buffer.concat(messages.map(frame));
      // Awkward cut points: inside a prefix, right after one, inside large bodies.
      const cuts = [2, 3, 5, 9, 12, 13, 100_000, 300_010, 300_016, 300_019, 300_030, wire.byteLength];
      const client = await clientOf((stream) => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        let at = 0;
        const next = (i: number) => {
          const cut = cuts[i];
          if (cut === undefined) {
            stream.end();
            return;
          }
          stream.write(wire.subarray(at, cut));
          at = cut;
          // A turn between writes keeps each piece its own DATA frame.
          setImmediate(() => next(i + 1));
        };
        stream.resume();
        next(0);
      });
      const ac = new AbortController();
      const call = client.stream('/test.Framing/Stream', {}, ac.signal);
      call.end();
      const got: Buffer[] = [];
      if (how === 'in batches') {
        for (let b = await call.nextBatch(); b !== undefined; b = await call.nextBatch())
          for (const m of b) got.push(Buffer.from(m));
      } else {
        for await (const m of call) got.push(Buffer.from(m));
      }
      await call.done;
      expect(got.map((b) => b.byteLength)).toEqual(messages.map((b) => b.byteLength));
      expect(Buffer.concat(got)).toEqual(Buffer.concat(messages));
    },
  );
});

describe('TunnelGrpcClient message limit', () => {
  it('fails a call whose peer announces an oversized message, without waiting for its body', async () => {
    const client = await clientOf((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.resume();
      // A prefix announcing 4 GiB - 1, then a trickle: buffering it all would never end.
      const head = Buffer.alloc(5);
      head.writeUInt32BE(0xffffffff, 1);
      stream.write(Buffer.concat([head, Buffer.alloc(1024)]));
      stream.on('error', () => {});
    });
    const call = client.stream('/test.Framing/Huge', {}, new AbortController().signal);
    call.end();
    const read = (async () => {
      for await (const m of call) void m;
    })();
    await expect(read).rejects.toThrow(/larger than max \(4294967295 vs 16777216\)/);
    await expect(call.done).rejects.toThrow(/larger than max/);
  });
});

describe('TunnelGrpcClient metadata', () => {
  it('refuses a value HTTP/2 cannot carry before opening a stream, and the session stays usable', async () => {
    const client = await clientOf((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.resume();
      stream.end();
    });
    const ac = new AbortController();
    expect(() => client.stream('/test.Meta/Bad', { 'x-name': '日本' }, ac.signal)).toThrow(
      /\/test\.Meta\/Bad: .*x-name/,
    );
    expect(() => client.stream('/test.Meta/Bad', { 'x-name': 'a\r\nb: c' }, ac.signal)).toThrow(/x-name/);
    // Aborting afterwards must not reach the refused call.
    ac.abort();
    const call = client.stream('/test.Meta/Good', { 'x-name': 'ok' }, new AbortController().signal);
    call.end();
    for await (const m of call) void m;
    await call.done;
  });
});
