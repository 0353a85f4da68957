import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  H2ClientConnection,
  type H2Stream,
  type H2StreamEvents,
} from '../../daemon/session/h2/connection.js';
import { ErrorCode, smallFrame } from '../../daemon/session/h2/frames.js';
import type { HeaderList } from '../../daemon/session/h2/hpack.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const OPTS = { streamWindow: 1 << 20, connectionWindow: 4 << 20, maxFrameSize: 1 << 20 };

async function socketPath(): Promise<string> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-h2-'));
  cleanups.push(() => rm(tmp, { recursive: true, force: true }));
  return path.join(tmp, 'h2.sock');
}

/** A client connection to a Node http2 server (nghttp2) with `settings`, answering with `onStream`. */
async function connect(
  onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
  settings: http2.Settings = {},
  onSession?: (s: http2.ServerHttp2Session) => void,
): Promise<H2ClientConnection> {
  const sock = await socketPath();
  const server = http2.createServer({ settings });
  server.on('stream', onStream);
  const sessions: http2.ServerHttp2Session[] = [];
  server.on('session', (s) => {
    sessions.push(s);
    onSession?.(s);
  });
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A session that sent GOAWAY lingers past its socket; close() waits for every session.
        for (const s of sessions) s.destroy();
      }),
  );
  const socket = net.connect(sock);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const conn = new H2ClientConnection(socket, OPTS);
  cleanups.push(() => conn.destroy());
  return conn;
}

interface Recorded {
  headers: { list: HeaderList; end: boolean }[];
  data: Buffer[];
  ended: boolean;
  closed: Promise<{ rst: number | undefined; error: Error | undefined }>;
}

function request(conn: H2ClientConnection, extra: HeaderList = []): { stream: H2Stream; rec: Recorded } {
  let onClosed!: (v: { rst: number | undefined; error: Error | undefined }) => void;
  const rec: Recorded = {
    headers: [],
    data: [],
    ended: false,
    closed: new Promise((resolve) => {
      onClosed = resolve;
    }),
  };
  const events: H2StreamEvents = {
    onHeaders: (list, end) => rec.headers.push({ list, end }),
    onData: (chunk) => rec.data.push(Buffer.from(chunk)),
    onEnd: () => {
      rec.ended = true;
    },
    onClose: (rst, error) => onClosed({ rst, error }),
    onWritable: () => {},
  };
  const stream = conn.open(
    [[':method', 'POST'], [':scheme', 'http'], [':path', '/t'], [':authority', 'localhost'], ...extra],
    events,
  );
  return { stream, rec };
}

describe('H2ClientConnection against nghttp2', () => {
  it('moves data both ways past small windows and frames, with trailers', async () => {
    const upload = randomBytes(300_000);
    const download = randomBytes(2_500_000);
    let got: Buffer | undefined;
    const conn = await connect(
      (stream) => {
        const parts: Buffer[] = [];
        stream.on('data', (c: Buffer) => parts.push(c));
        stream.on('end', () => {
          got = Buffer.concat(parts);
          stream.respond({ ':status': 200 }, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end(download);
        });
      },
      // The server takes 1000 bytes per stream window and 16 KiB frames: many WINDOW_UPDATEs.
      { initialWindowSize: 1000 },
    );
    const { stream, rec } = request(conn);
    let released = 0;
    stream.write(upload.subarray(0, 100_000), () => released++);
    stream.write(upload.subarray(100_000), () => released++);
    stream.end();
    const closed = await rec.closed;
    expect(closed).toEqual({ rst: undefined, error: undefined });
    expect(got?.equals(upload)).toBe(true);
    expect(Buffer.concat(rec.data).equals(download)).toBe(true);
    expect(rec.headers.map((h) => h.end)).toEqual([false, true]);
    expect(rec.headers[1]?.list).toContainEqual(['grpc-status', '0']);
    expect(rec.ended).toBe(true);
    expect(released).toBe(2);
  });

  it('sends long header blocks in CONTINUATION frames and reads the ones it is sent', async () => {
    const long = 'v'.repeat(40_000);
    let seen: string | undefined;
    const conn = await connect((stream, headers) => {
      seen = headers['x-long'] as string;
      stream.respond({ ':status': 200, 'x-back': long }, { endStream: true });
    });
    const { stream, rec } = request(conn, [['x-long', long]]);
    stream.end();
    await rec.closed;
    expect(seen).toBe(long);
    expect(rec.headers[0]?.list).toContainEqual(['x-back', long]);
  });

  it('holds back WINDOW_UPDATEs while a stream is paused, and the peer waits', async () => {
    const total = 6 << 20;
    let written = 0;
    const conn = await connect((stream) => {
      stream.respond({ ':status': 200 });
      const chunk = Buffer.alloc(64 * 1024, 1);
      const pump = () => {
        while (written < total) {
          written += chunk.byteLength;
          if (!stream.write(chunk)) {
            stream.once('drain', pump);
            return;
          }
        }
        stream.end();
      };
      pump();
    });
    const { stream, rec } = request(conn);
    stream.end();
    stream.pause();
    await new Promise((r) => setTimeout(r, 300));
    const received = rec.data.reduce((n, b) => n + b.byteLength, 0);
    // One stream window (1 MiB) and not much more: the server could not send further.
    expect(received).toBeLessThanOrEqual(OPTS.streamWindow);
    expect(received).toBeGreaterThan(0);
    stream.resume();
    await rec.closed;
    expect(rec.data.reduce((n, b) => n + b.byteLength, 0)).toBe(total);
  });

  it('reports a reset from the peer with its code, and releases what it dropped', async () => {
    const conn = await connect(
      (stream) => {
        stream.on('error', () => {});
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      },
      { initialWindowSize: 10 },
    );
    const { stream, rec } = request(conn);
    let released = 0;
    // More than the 10-byte window: most of it is still queued when the reset comes.
    stream.write(Buffer.alloc(100_000), () => released++);
    const closed = await rec.closed;
    expect(closed.rst).toBe(ErrorCode.REFUSED_STREAM);
    expect(released).toBe(1);
    expect(() => stream.write(Buffer.alloc(1))).toThrow(/closed/);
  });

  it('resets a stream it cancels, and the peer sees the cancel', async () => {
    let peerRst: number | undefined;
    const peerClosed = new Promise<void>((resolve) => {
      void connect((s) => {
        s.on('close', () => {
          peerRst = s.rstCode;
          resolve();
        });
      }).then((conn) => {
        const { stream } = request(conn);
        stream.write(Buffer.from('x'));
        setTimeout(() => stream.reset(ErrorCode.CANCEL), 50);
      });
    });
    await peerClosed;
    expect(peerRst).toBe(ErrorCode.CANCEL);
  });

  it('keeps to the peer MAX_CONCURRENT_STREAMS, opening the rest as streams finish', async () => {
    let active = 0;
    let most = 0;
    const conn = await connect(
      (stream) => {
        active++;
        most = Math.max(most, active);
        stream.on('close', () => active--);
        setTimeout(() => stream.respond({ ':status': 200 }, { endStream: true }), 30);
      },
      { maxConcurrentStreams: 1 },
    );
    // Let the server's SETTINGS arrive first.
    await new Promise((r) => setTimeout(r, 50));
    const calls = [request(conn), request(conn), request(conn)];
    for (const c of calls) c.stream.end();
    const results = await Promise.all(calls.map((c) => c.rec.closed));
    expect(results.every((r) => r.error === undefined && r.rst === undefined)).toBe(true);
    expect(most).toBe(1);
  });

  it('answers PINGs', async () => {
    let session: http2.ServerHttp2Session | undefined;
    const conn = await connect(
      (stream) => stream.respond({ ':status': 200 }, { endStream: true }),
      {},
      (s) => {
        session = s;
      },
    );
    const { stream, rec } = request(conn);
    stream.end();
    await rec.closed;
    const acked = await new Promise<boolean>((resolve) => {
      session!.ping((err) => resolve(err === null));
    });
    expect(acked).toBe(true);
  });

  it('after GOAWAY, refuses new streams and closes once the old ones are done', async () => {
    let session: http2.ServerHttp2Session | undefined;
    let held: http2.ServerHttp2Stream | undefined;
    const conn = await connect(
      (stream) => {
        held = stream;
      },
      {},
      (s) => {
        session = s;
      },
    );
    const first = request(conn);
    first.stream.end();
    await new Promise((r) => setTimeout(r, 50));
    session!.goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(conn.isClosed).toBe(true);
    const late = request(conn);
    expect((await late.rec.closed).error?.message).toMatch(/GOAWAY|closed/);
    held!.respond({ ':status': 200 }, { endStream: true });
    expect(await first.rec.closed).toEqual({ rst: undefined, error: undefined });
    await conn.closed;
  });

  it('fails the connection on a frame over its limit, and every stream with it', async () => {
    const sock = await socketPath();
    const server = net.createServer((s) => {
      s.once('data', () => {
        // SETTINGS from the "server", then a DATA frame header announcing 2 MiB (over 1 MiB).
        s.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
        s.write(Buffer.from([0x20, 0, 0, 0, 0, 0, 0, 0, 1]));
      });
    });
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const socket = net.connect(sock);
    const conn = new H2ClientConnection(socket, OPTS);
    cleanups.push(() => conn.destroy());
    const { rec } = request(conn);
    const err = await conn.closed;
    expect(err?.message).toMatch(/FRAME_SIZE_ERROR/);
    expect((await rec.closed).error?.message).toMatch(/FRAME_SIZE_ERROR/);
  });
});

/** A transport whose writes complete only when the test says so; the test plays the server. */
class HeldConn extends Duplex {
  readonly pending: (() => void)[] = [];
  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this.pending.push(() => cb());
  }
  override _write(_chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pending.push(() => cb());
  }
  override _read(): void {}
  /** Completes the writes made so far (more may queue behind them). */
  completeAll(): void {
    for (const p of this.pending.splice(0)) p();
  }
}

/** A frame from the test's "server". */
const frame = smallFrame;

const tick = () => new Promise((r) => setImmediate(r));

describe('H2ClientConnection against a hostile or stuck peer', () => {
  it('fails the connection on a header block that never ends', async () => {
    const conn = new HeldConn();
    const h2 = new H2ClientConnection(conn, OPTS);
    const { rec } = request(h2);
    conn.push(frame(4, 0, 0));
    conn.push(frame(1, 0, 1, Buffer.alloc(10)));
    for (let i = 0; i < 10; i++) conn.push(frame(9, 0, 1, Buffer.alloc(64 * 1024)));
    expect((await h2.closed)?.message).toMatch(/ENHANCE_YOUR_CALM: a header block over/);
    expect((await rec.closed).error?.message).toMatch(/ENHANCE_YOUR_CALM/);
  });

  it('fails the connection when PINGs come faster than their answers can be written', async () => {
    const conn = new HeldConn();
    const h2 = new H2ClientConnection(conn, OPTS);
    // Wide windows, then 9 MiB of DATA that the transport never finishes writing.
    conn.push(frame(4, 0, 0, Buffer.from([0, 4, 0x7f, 0xff, 0xff, 0xff])));
    conn.push(frame(8, 0, 0, Buffer.from([0x7f, 0, 0, 0])));
    const { stream } = request(h2);
    stream.write(Buffer.alloc(9 << 20));
    await tick();
    const ping = frame(6, 0, 0, Buffer.alloc(8));
    conn.push(Buffer.concat(Array.from({ length: 300_000 }, () => ping)));
    expect((await h2.closed)?.message).toMatch(/ENHANCE_YOUR_CALM: the peer sends control frames/);
  });

  it('answers a PING while several streams have megabytes queued on a slow transport', async () => {
    const conn = new HeldConn();
    const h2 = new H2ClientConnection(conn, OPTS);
    conn.push(frame(4, 0, 0, Buffer.from([0, 4, 0x7f, 0xff, 0xff, 0xff])));
    conn.push(frame(8, 0, 0, Buffer.from([0x7f, 0, 0, 0])));
    for (let i = 0; i < 6; i++) request(h2).stream.write(Buffer.alloc(3 << 20));
    await tick();
    conn.push(frame(6, 0, 0, Buffer.alloc(8)));
    await tick();
    let closed = false;
    void h2.closed.then(() => (closed = true));
    await tick();
    expect(closed).toBe(false);
    h2.destroy();
  });

  it('releases a partly framed buffer of a reset stream only once its frames are written', async () => {
    const conn = new HeldConn();
    const h2 = new H2ClientConnection(conn, OPTS);
    conn.push(frame(4, 0, 0));
    const { stream, rec } = request(h2);
    let released = false;
    // 100 KB against the default 64 KiB window: part of it framed and in a pending write.
    stream.write(Buffer.alloc(100_000), () => (released = true));
    await tick();
    conn.push(frame(3, 0, 1, Buffer.from([0, 0, 0, 8])));
    expect((await rec.closed).rst).toBe(ErrorCode.CANCEL);
    await tick();
    expect(released).toBe(false);
    conn.completeAll();
    await tick();
    conn.completeAll();
    await tick();
    expect(released).toBe(true);
    h2.destroy();
  });

  it('stops sending with RST_STREAM(NO_ERROR) once the response ended, releasing what was queued', async () => {
    const conn = new HeldConn();
    const h2 = new H2ClientConnection(conn, OPTS);
    conn.push(frame(4, 0, 0));
    const { stream, rec } = request(h2);
    let released = 0;
    stream.write(Buffer.alloc(200_000), () => released++);
    await tick();
    // A trailers-only response ending the stream (HPACK: ':status: 200' indexed = 0x88).
    conn.push(frame(1, 0x5, 1, Buffer.from([0x88])));
    const closed = await rec.closed;
    expect(closed.rst).toBe(ErrorCode.NO_ERROR);
    conn.completeAll();
    await tick();
    conn.completeAll();
    await tick();
    expect(released).toBe(1);
    h2.destroy();
  });
});
