import type { Http2Stream } from 'node:http2';
import {
  type handleBidiStreamingCall,
  type handleUnaryCall,
  Metadata,
  type ServerDuplexStream,
} from '@grpc/grpc-js';
import { serverCallStream } from '../../proto/grpc-raw-stream.js';
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

const RAW_BACKLOG = 1024 * 1024;
/** Small messages sent in one event-loop turn go out as one HTTP/2 write up to this size. */
const COALESCE_BYTES = 64 * 1024;
/** Messages this large are written on their own (after what is pending), without the batch copy. */
const DIRECT_BYTES = 16 * 1024;

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
  const reader = new CallReader(call);
  // Framed messages not yet written: one write per ~20-byte packet (a STAT, an end-of-file DATA)
  // cost more than the packet, so one event-loop turn's worth goes out as one write.
  let out: Buffer[] = [];
  let outBytes = 0;
  let flushScheduled = false;
  const flush = () => {
    if (out.length === 0 || !raw) return;
    const chunk = out.length === 1 ? out[0]! : Buffer.concat(out, outBytes);
    out = [];
    outBytes = 0;
    if (!raw.destroyed && !raw.closed && !raw.writableEnded) raw.write(chunk);
  };
  /** `frame` is a gRPC length-prefixed message: uncompressed flag, big-endian length, body. */
  const sendRaw = (h2: Http2Stream, frame: Buffer): Promise<void> => {
    if (frame.byteLength >= DIRECT_BYTES) {
      // Large enough to go alone: no second copy into a batch.
      flush();
      h2.write(frame);
    } else {
      out.push(frame);
      outBytes += frame.byteLength;
      if (outBytes >= COALESCE_BYTES) flush();
      else if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(() => {
          flushScheduled = false;
          flush();
        });
      }
    }
    // HTTP/2 writes one batch per completed socket write: keep a good backlog for it to take.
    if (h2.writableLength + outBytes < RAW_BACKLOG) return Promise.resolve();
    flush();
    return h2.writableLength < RAW_BACKLOG ? Promise.resolve() : waitWritable(h2);
  };
  const sendFrame = (frame: Uint8Array): Promise<void> => {
    if (call.destroyed || call.writableEnded || call.cancelled)
      return Promise.reject(new Error('session call closed'));
    if (raw === null) {
      raw = serverCallStream(call);
      // Response headers first, as grpc-js would send them before its first message.
      if (raw) call.sendMetadata(new Metadata());
    }
    if (raw) {
      if (raw.destroyed || raw.closed) return Promise.reject(new Error('session call closed'));
      return sendRaw(raw, Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
    }
    // grpc-js frames what it writes: hand it the body.
    const body = Buffer.from(frame.buffer, frame.byteOffset + 5, frame.byteLength - 5);
    return call.write(body) ? Promise.resolve() : waitWritable(call);
  };
  return {
    send: (bytes) => {
      const frame = Buffer.allocUnsafe(5 + bytes.byteLength);
      frame[0] = 0;
      frame.writeUInt32BE(bytes.byteLength, 1);
      frame.set(bytes, 5);
      return sendFrame(frame);
    },
    sendFramed: sendFrame,
    end: () => {
      flush();
      if (!call.writableEnded && !call.destroyed) call.end();
    },
    [Symbol.asyncIterator]: () => reader.iterator(),
  };
}

/** Pausing the call (HTTP/2 flow control pushes back) past this many queued messages or bytes. */
const MAX_QUEUED_MESSAGES = 4096;
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/**
 * Reads a call through 'data' events into a queue: the Readable async iterator cost a read() and
 * a promise per message, which showed at tens of thousands of small fsutil packets. Several
 * loops may read in turn; leaving one neither loses messages nor destroys the call.
 */
class CallReader {
  private readonly queue: Uint8Array[] = [];
  private head = 0;
  private queuedBytes = 0;
  private wake: (() => void) | undefined;
  private ended = false;
  private error: unknown;
  private attached = false;

  constructor(private readonly call: ServerDuplexStream<Buffer, Buffer>) {}

  private attach(): void {
    if (this.attached) return;
    this.attached = true;
    const call = this.call;
    const poke = () => {
      const w = this.wake;
      this.wake = undefined;
      w?.();
    };
    call.on('data', (m: Buffer) => {
      this.queue.push(m);
      this.queuedBytes += m.byteLength;
      if (this.queue.length - this.head >= MAX_QUEUED_MESSAGES || this.queuedBytes >= MAX_QUEUED_BYTES)
        call.pause();
      poke();
    });
    call.once('end', () => {
      this.ended = true;
      poke();
    });
    call.once('close', () => {
      this.ended = true;
      poke();
    });
    call.once('error', (err: unknown) => {
      this.error ??= err;
      poke();
    });
  }

  iterator(): AsyncIterator<Uint8Array> {
    this.attach();
    const next = async (): Promise<IteratorResult<Uint8Array>> => {
      for (;;) {
        if (this.head < this.queue.length) {
          const m = this.queue[this.head++]!;
          this.queuedBytes -= m.byteLength;
          if (this.head === this.queue.length) {
            this.queue.length = 0;
            this.head = 0;
          } else if (this.head >= 1024) {
            // Consumed messages must not stay referenced while the queue never quite empties.
            this.queue.splice(0, this.head);
            this.head = 0;
          }
          if (
            this.call.isPaused() &&
            this.queue.length - this.head < MAX_QUEUED_MESSAGES / 2 &&
            this.queuedBytes < MAX_QUEUED_BYTES / 2
          )
            this.call.resume();
          return { done: false, value: m };
        }
        if (this.error !== undefined) throw this.error;
        if (this.ended) return { done: true, value: undefined };
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      }
    };
    return { next, return: async () => ({ done: true, value: undefined }) };
  }
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
