import type { Http2Stream } from 'node:http2';
import {
  type handleBidiStreamingCall,
  type handleUnaryCall,
  Metadata,
  type ServerDuplexStream,
} from '@grpc/grpc-js';
import { CoalescingWriter, serverCallStream } from '../../proto/grpc-raw-stream.js';
import { MessageQueue, type MessageSource } from '../../proto/message-queue.js';
import type { MessageStream } from '../../worker/fs/fsutil-packet.js';
import type { FrameChannel, FrameListener } from '../../worker/fs/fsutil-send.js';

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
  // Messages read off the HTTP/2 stream a batch at a time when it can be reached (for receivers
  // of tens of thousands of packets); through grpc-js otherwise.
  const rawIn = serverCallStream(call);
  const taken = rawIn ? RawMessageReader.takeOver(rawIn) : undefined;
  const reader = new MessageQueue(rawIn && taken ? rawSource(rawIn, taken) : callSource(call));
  const out = new CoalescingWriter((chunk) => {
    if (raw && !raw.destroyed && !raw.closed && !raw.writableEnded) raw.write(chunk);
  });
  const flush = () => out.flush();
  /** `frame` is a gRPC length-prefixed message: uncompressed flag, big-endian length, body. */
  const sendRaw = (h2: Http2Stream, frame: Buffer): Promise<void> => {
    out.push(frame);
    // HTTP/2 writes one batch per completed socket write: keep a good backlog for it to take.
    if (h2.writableLength + out.pendingBytes < RAW_BACKLOG) return Promise.resolve();
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
    nextBatch: () => reader.nextBatch(),
    [Symbol.asyncIterator]: () => reader.iterator(),
  };
}

/**
 * A grpc-js server call as a FrameChannel: buffers of framed messages go to the HTTP/2 stream
 * under the call as they are, received messages to the listener as they arrive. Undefined when
 * that stream cannot be reached (see serverCallStream): use serverMessageStream then.
 */
export function serverFrameChannel(call: ServerDuplexStream<Buffer, Buffer>): FrameChannel | undefined {
  const raw = serverCallStream(call);
  if (raw === undefined) return undefined;
  const reader = RawMessageReader.takeOver(raw) ?? new MessageQueue(callSource(call));
  let headersSent = false;
  return {
    write: (frames, done) => {
      if (call.destroyed || call.writableEnded || call.cancelled || raw.destroyed || raw.closed)
        throw new Error('session call closed');
      if (!headersSent) {
        headersSent = true;
        // Response headers first, as grpc-js would send them before its first message.
        call.sendMetadata(new Metadata());
      }
      // The callback runs once the bytes are written on (to the socket or the tunnel).
      raw.write(frames, done);
      // HTTP/2 writes one batch per completed socket write: keep a good backlog for it to take.
      return raw.writableLength < RAW_BACKLOG;
    },
    drain: () => (raw.writableLength < RAW_BACKLOG ? Promise.resolve() : waitWritable(raw)),
    end: () => {
      if (!call.writableEnded && !call.destroyed) call.end();
    },
    listen: (listener) => reader.listen(listener),
    release: () => reader.listen(undefined),
  };
}

/** grpc-js's default receive limit, which it would enforce on these messages. */
const MAX_RECEIVE_MESSAGE = 4 * 1024 * 1024;

/**
 * Reads the gRPC messages of a server call straight off its HTTP/2 stream, in place of grpc-js:
 * for each of the tens of thousands of ~10-byte REQ packets of a transfer, grpc-js's decoder
 * made three Buffers, then a queue entry, a promise and an object-mode push. Messages are
 * handed over as views of the received chunk, so a listener must copy what it keeps.
 */
class RawMessageReader {
  private listener: FrameListener | undefined;
  /** Messages that came before a listener did. */
  private readonly held: Uint8Array[] = [];
  /** The start of a message that spans chunks. */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private result: { readonly error: unknown } | 'ended' | undefined;
  private told = false;
  private released = false;

  /** Undefined when grpc-js does not read the stream the way this expects (one 'data' listener). */
  static takeOver(raw: Http2Stream): RawMessageReader | undefined {
    const grpcListeners = raw.listeners('data');
    if (grpcListeners.length !== 1 || raw.readableEnded) return undefined;
    const reader = new RawMessageReader();
    raw.off('data', grpcListeners[0] as (chunk: Buffer) => void);
    raw.on('data', (chunk: Buffer) => reader.data(chunk));
    raw.once('end', () => reader.finish('ended'));
    // Cut off (RST_STREAM, connection gone): the call's 'cancelled' event tells the sender why.
    raw.once('close', () => reader.finish('ended'));
    raw.resume();
    return reader;
  }

  /** Undefined: the listener is done, and what still comes is dropped. */
  listen(listener: FrameListener | undefined): void {
    this.listener = listener;
    if (listener === undefined) {
      this.released = true;
      this.held.length = 0;
      return;
    }
    while (this.held.length > 0 && this.listener === listener) listener.message(this.held.shift()!);
    this.tell();
  }

  private data(chunk: Buffer): void {
    if (this.result !== undefined) return;
    let buf = chunk;
    if (this.partsBytes > 0) {
      this.parts.push(chunk);
      this.partsBytes += chunk.byteLength;
      if (this.partsBytes < 5) return;
      if (this.parts[0]!.byteLength < 5) this.parts = [Buffer.concat(this.parts, this.partsBytes)];
      const head = this.parts[0]!;
      if (!this.checkHeader(head, 0) || this.partsBytes < 5 + head.readUInt32BE(1)) return;
      buf = this.parts.length === 1 ? head : Buffer.concat(this.parts, this.partsBytes);
      this.parts = [];
      this.partsBytes = 0;
    }
    let pos = 0;
    while (buf.byteLength - pos >= 5) {
      if (!this.checkHeader(buf, pos)) return;
      const len = buf.readUInt32BE(pos + 1);
      if (buf.byteLength - pos - 5 < len) break;
      this.deliver(buf.subarray(pos + 5, pos + 5 + len));
      pos += 5 + len;
    }
    if (pos < buf.byteLength) {
      const rest = buf.subarray(pos);
      this.parts = [rest];
      this.partsBytes = rest.byteLength;
    }
  }

  /** The message prefix at `pos` is one grpc-js would take; fails the reader if not. */
  private checkHeader(buf: Buffer, pos: number): boolean {
    const len = buf.readUInt32BE(pos + 1);
    if (buf[pos] !== 0) this.finish({ error: new Error('compressed session messages are not supported') });
    else if (len > MAX_RECEIVE_MESSAGE)
      this.finish({
        error: new Error(`received message larger than max (${len} vs ${MAX_RECEIVE_MESSAGE})`),
      });
    else return true;
    this.parts = [];
    this.partsBytes = 0;
    return false;
  }

  private deliver(message: Uint8Array): void {
    if (this.listener !== undefined) this.listener.message(message);
    else if (!this.released) this.held.push(message);
  }

  private finish(result: { readonly error: unknown } | 'ended'): void {
    this.result ??= result;
    this.tell();
  }

  private tell(): void {
    const l = this.listener;
    if (l === undefined || this.result === undefined || this.told || this.held.length > 0) return;
    this.told = true;
    if (this.result === 'ended') l.end();
    else l.error(this.result.error);
  }
}

/** A grpc-js call's messages, through its 'data' events. */
function callSource(call: ServerDuplexStream<Buffer, Buffer>): MessageSource {
  return {
    start: (sink) => {
      call.on('data', (m: Buffer) => sink.message(m));
      call.once('end', () => sink.end());
      call.once('close', () => sink.end());
      call.once('error', (err: unknown) => sink.error(err));
    },
    pause: () => call.pause(),
    resume: () => call.resume(),
    isPaused: () => call.isPaused(),
  };
}

/** The messages a RawMessageReader reads off the call's HTTP/2 stream (paused as a whole). */
function rawSource(stream: Http2Stream, reader: RawMessageReader): MessageSource {
  return {
    start: (sink) =>
      reader.listen({
        message: (m) => sink.message(m),
        packet: () => {},
        end: () => sink.end(),
        error: (err) => sink.error(err),
      }),
    pause: () => stream.pause(),
    resume: () => {
      if (!stream.destroyed) stream.resume();
    },
    isPaused: () => stream.isPaused(),
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
