import http2 from 'node:http2';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { widenCallFlowControl } from '../../daemon/session/flow-control.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('widenCallFlowControl', () => {
  it('raises the HTTP/2 receive windows under a grpc-js server call', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-flow-'));
    cleanups.push(() => rm(tmp, { recursive: true, force: true }));
    const server = new Server();
    cleanups.push(() => server.forceShutdown());
    server.register(
      '/test.Flow/Bidi',
      (call: ServerDuplexStream<Buffer, Buffer>) => {
        widenCallFlowControl(call);
        call.end();
      },
      (b: Buffer) => b,
      (b: Buffer) => b,
      'bidi',
    );
    const sock = path.join(tmp, 's.sock');
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${sock}`, ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    // A raw HTTP/2 client sees the server's SETTINGS and WINDOW_UPDATE frames.
    const h2 = http2.connect('http://localhost', { path: sock } as http2.SecureClientSessionOptions);
    cleanups.push(() => void h2.destroy());
    const widened = new Promise<number>((resolve) =>
      h2.on('remoteSettings', (s) => {
        if ((s.initialWindowSize ?? 0) > 65535) resolve(s.initialWindowSize ?? 0);
      }),
    );
    const req = h2.request({
      ':method': 'POST',
      ':path': '/test.Flow/Bidi',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    req.resume();
    req.end();
    expect(await widened).toBe(8 * 1024 * 1024);
    await new Promise<void>((resolve) => req.on('close', resolve));
    expect(h2.state.remoteWindowSize).toBeGreaterThanOrEqual(32 * 1024 * 1024 - 65535);
  });
});
