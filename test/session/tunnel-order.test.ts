import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { TunnelDuplex } from '../../daemon/session/tunnel-duplex.js';
import { EncodedMessage } from '../../proto/grpc-services.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

describe('TunnelDuplex on a client call', () => {
  it('keeps the tunnel bytes in order when grpc-js still holds messages as the response headers come', async () => {
    // A peer that grants no send window at first: grpc-js holds what it is given.
    const got: string[] = [];
    let serverStream: http2.ServerHttp2Stream | undefined;
    const server = http2.createServer({ settings: { initialWindowSize: 0 } });
    server.on('stream', (s) => {
      serverStream = s;
      let buf = Buffer.alloc(0);
      s.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        while (buf.length >= 5) {
          const n = buf.readUInt32BE(1);
          if (buf.length < 5 + n) break;
          got.push(buf.subarray(5 + 2, 5 + n).toString()); // past the BytesMessage field header
          buf = buf.subarray(5 + n);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => server.close());
    const client = new grpc.Client(
      `127.0.0.1:${(server.address() as AddressInfo).port}`,
      grpc.credentials.createInsecure(),
    );
    cleanups.push(() => client.close());
    const call = client.makeBidiStreamRequest<{ data: Buffer; [EncodedMessage]?: Buffer }, { data: Buffer }>(
      '/moby.buildkit.v1.Control/Session',
      (m) => m[EncodedMessage] ?? Buffer.concat([Buffer.from([0x0a, m.data.length]), m.data]),
      (b) => ({ data: b.subarray(2) }),
    );
    const tunnel = new TunnelDuplex(call);
    tunnel.on('error', () => {});
    tunnel.resume();
    cleanups.push(() => tunnel.destroy());
    await sleep(200);
    tunnel.write(Buffer.from('M0'));
    await sleep(50);
    tunnel.write(Buffer.from('M1'));
    await sleep(50);
    serverStream?.respond({ ':status': 200, 'content-type': 'application/grpc' });
    await sleep(100);
    tunnel.write(Buffer.from('M2'));
    await sleep(50);
    serverStream?.session?.settings({ initialWindowSize: 65535 });
    for (let i = 0; i < 100 && got.length < 3; i++) await sleep(20);
    expect(got).toEqual(['M0', 'M1', 'M2']);
  });
});
