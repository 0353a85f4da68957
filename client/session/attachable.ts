import type { Http2Stream } from 'node:http2';
import {
  type handleBidiStreamingCall,
  type handleUnaryCall,
  Metadata,
  type ServerDuplexStream,
} from '@grpc/grpc-js';
import type { MessageStream } from '../../worker/fs/fsutil-packet.js';

/**
 * Something the client serves to the daemon over the session tunnel. Messages are raw bytes: each
 * handler decodes its own requests (FileSend's declared types lie, so one codec per service would not do).
 */
export type SessionMethod =
  | { readonly kind: 'unary'; readonly path: string; readonly handler: handleUnaryCall<Buffer, Buffer> }
  | {
      readonly kind: 'bidi';
      readonly path: string;
      readonly handler: handleBidiStreamingCall<Buffer, Buffer>;
    };

export interface SessionAttachable {
  readonly methods: readonly SessionMethod[];
}

/**
 * The HTTP/2 stream under a grpc-js server call, found through grpc-js internals (1.14: the
 * ServerDuplexStream's `call`, down its `nextCall` interceptor chain, holds `stream`).
 * grpc-js writes one message per HTTP/2 write completion, i.e. one per event-loop turn over the
 * session tunnel; framing messages ourselves lets HTTP/2 batch them (writev). Undefined when the
 * internals differ: callers then fall back to call.write.
 */
function rawStream(call: ServerDuplexStream<Buffer, Buffer>): Http2Stream | undefined {
  let c: unknown = (call as unknown as { call?: unknown }).call;
  for (let i = 0; i < 16 && c !== null && typeof c === 'object'; i++) {
    const stream = (c as { stream?: unknown }).stream;
    if (
      stream !== null &&
      typeof stream === 'object' &&
      typeof (stream as Partial<Http2Stream>).write === 'function' &&
      typeof (stream as { respond?: unknown }).respond === 'function' &&
      typeof (c as { sendMetadata?: unknown }).sendMetadata === 'function'
    )
      return stream as Http2Stream;
    c = (c as { nextCall?: unknown }).nextCall;
  }
  return undefined;
}

const RAW_BACKLOG = 1024 * 1024;

function waitWritable(w: NodeJS.EventEmitter): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      w.off('drain', done);
      w.off('close', done);
      resolve();
    };
    w.on('drain', done);
    w.on('close', done);
  });
}

/** A grpc-js server call as a message stream; leaving a read loop does not destroy the call. */
export function serverMessageStream(call: ServerDuplexStream<Buffer, Buffer>): MessageStream {
  let raw: Http2Stream | undefined | null = null;
  const sendRaw = (h2: Http2Stream, bytes: Uint8Array): Promise<void> => {
    // gRPC length-prefixed message: uncompressed flag, big-endian length, body.
    const frame = Buffer.allocUnsafe(5 + bytes.byteLength);
    frame[0] = 0;
    frame.writeUInt32BE(bytes.byteLength, 1);
    frame.set(bytes, 5);
    h2.write(frame);
    // HTTP/2 writes one batch per completed socket write: keep a good backlog for it to take.
    return h2.writableLength < RAW_BACKLOG ? Promise.resolve() : waitWritable(h2);
  };
  return {
    send: (bytes) => {
      if (call.destroyed || call.writableEnded || call.cancelled)
        return Promise.reject(new Error('session call closed'));
      if (raw === null) {
        raw = rawStream(call);
        // Response headers first, as grpc-js would send them before its first message.
        if (raw) call.sendMetadata(new Metadata());
      }
      if (raw) {
        if (raw.destroyed || raw.closed) return Promise.reject(new Error('session call closed'));
        return sendRaw(raw, bytes);
      }
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return call.write(buf) ? Promise.resolve() : waitWritable(call);
    },
    end: () => {
      if (!call.writableEnded && !call.destroyed) call.end();
    },
    [Symbol.asyncIterator]: () => call.iterator({ destroyOnReturn: false }) as AsyncIterator<Uint8Array>,
  };
}

/** An AbortSignal that fires when the daemon cancels the call. */
export function callSignal(
  call: { on(event: 'cancelled', fn: () => void): unknown },
  parent: AbortSignal,
): AbortSignal {
  const ac = new AbortController();
  call.on('cancelled', () => ac.abort(new Error('the daemon cancelled the call')));
  return AbortSignal.any([ac.signal, parent]);
}

/** The values of a single-valued metadata key. */
export function metadataValues(md: { get(key: string): (string | Buffer)[] }, key: string): string[] {
  return md
    .get(key)
    .map((v) => (typeof v === 'string' ? v : v.toString()))
    .filter((v) => v !== '');
}

/**
 * The values of a repeated metadata key. Node's http2 joins repeated header fields with ", " before
 * grpc-js sees them, so split them again (a pattern that itself contains ", " cannot survive this).
 */
export function metadataList(md: { get(key: string): (string | Buffer)[] }, key: string): string[] {
  return metadataValues(md, key)
    .flatMap((v) => v.split(', '))
    .filter((v) => v !== '');
}
