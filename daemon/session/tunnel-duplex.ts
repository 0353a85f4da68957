import type { Http2Stream } from 'node:http2';
import { Duplex } from 'node:stream';
import { Metadata } from '@grpc/grpc-js';
import { EncodedMessage } from '../../proto/grpc-services.js';
import {
  BytesMessageDecoder,
  bytesMessagePrefix,
  clientCallStream,
  serverCallStream,
  varintLength,
} from '../../proto/grpc-raw-stream.js';
import { WriteFence } from './write-fence.js';

/**
 * The session tunnel: a gRPC bidi stream of BytesMessage turned into a byte pipe (BuildKit's
 * grpchijack.streamToConn). Each received message is a chunk. Writes made in the same event-loop
 * turn (the client's Node HTTP/2 emits one small write per frame) are coalesced into one message of at most
 * MAX_MESSAGE bytes: a message per tiny frame made many-small-file transfers overhead-bound.
 * Used by the daemon (over the Control.Session server call) and by the client (over its client call).
 * The frames go, unjoined, behind a hand-written BytesMessage + gRPC prefix straight to the HTTP/2
 * stream under the call: on the daemon from the start; on the client from the response headers,
 * before which its first bytes are held (see holding). When the stream is not found (grpc-js
 * internals differ) or the headers are late, they are joined once into a message that carries its
 * own encoding (EncodedMessage), so the serialiser does not copy it again, and go through grpc-js. Received messages are read
 * off that stream too, on both sides: their payloads go on a turn's worth at a time, never
 * assembled into messages first, and the stream is paused while the reader pushes back.
 */

type WriteCallback = (err?: Error | null) => void;

/**
 * How long a client tunnel holds its first bytes for the response headers (see holding). The
 * daemon's inner client speaks first, so they come at once; past this, grpc-js carries everything.
 */
const CLIENT_HOLD_MS = 2000;

/** Well under the 4 MiB default receive limit of grpc-go and grpc-js. */
const MAX_MESSAGE = 1024 * 1024;
/**
 * Bytes queued on the call's HTTP/2 stream past which writes wait, and the level at which they go
 * on. Not 'drain' (nothing queued): Node's HTTP/2 session writes everything queued in one socket
 * write and takes more only once it completes, so waiting for an empty queue let the socket run
 * dry while the tunnel refilled it (an export spent half its time so).
 */
const RAW_BACKLOG = 4 * 1024 * 1024;
const RAW_RESUME = 2 * 1024 * 1024;

/** What grpc-js gives for a BytesMessage stream in object mode (server or client side). */
export interface BytesMessageCall extends NodeJS.EventEmitter {
  write(message: { data: Uint8Array }, cb?: (err?: Error | null) => void): boolean;
  end(): unknown;
  pause(): unknown;
  resume(): unknown;
}

interface IncomingMessage {
  readonly data?: Uint8Array | null;
}

/**
 * `{ data }` for the joined chunks, carrying its protobuf encoding too (EncodedMessage), built with
 * the one copy the join needs: Kiln's serialisers send it as is instead of encoding a second copy.
 */
function encodedBytesMessage(
  parts: readonly Buffer[],
  len: number,
): { data: Buffer; [EncodedMessage]: Buffer } {
  const field = 1 + varintLength(len);
  const encoded = Buffer.allocUnsafeSlow(field + len);
  encoded[0] = 0x0a;
  let pos = 1;
  let v = len;
  while (v >= 0x80) {
    encoded[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  encoded[pos++] = v;
  for (const p of parts) {
    p.copy(encoded, pos);
    pos += p.byteLength;
  }
  return { data: encoded.subarray(field), [EncodedMessage]: encoded };
}

export class TunnelDuplex extends Duplex {
  private readonly call: BytesMessageCall;
  private ended = false;
  /**
   * The chunks of the message being gathered, held by reference rather than copied. On the client
   * the writer is Node's HTTP/2 session, whose JS-stream socket hands over fresh copies of its
   * frames; on the daemon it is Kiln's HTTP/2 client, whose writes complete only once these
   * bytes are written on (so it reuses nothing before).
   */
  private parts: Buffer[] = [];
  private partsLen = 0;
  /**
   * Write callbacks of the gathered chunks: they run once the chunks are handed on (client), or
   * written by the HTTP/2 stream under the call (daemon).
   */
  private held: ((err?: Error | null) => void)[] = [];
  private flushScheduled = false;
  /** Write callbacks held back while the outer call applies backpressure. */
  private waiting: ((err?: Error | null) => void)[] = [];
  private blocked = false;
  /**
   * The HTTP/2 stream under the call that frames are written to: null until looked up (server) or
   * set when holding stops (client), undefined when there is none.
   */
  private raw: Http2Stream | undefined | null = null;
  private readonly isServerCall: boolean;
  /**
   * Client side, until the response headers come (or CLIENT_HOLD_MS pass): batches not yet given to
   * anyone, so that either all of the tunnel goes straight to the HTTP/2 stream or all through
   * grpc-js. Mixing is unsafe: grpc-js reports a write done before it has handed the message to
   * HTTP/2 (and holds the next until then), so a direct write could overtake what it still holds.
   */
  private holding:
    { batches: { parts: Buffer[]; len: number; held: WriteCallback[] }[]; timer: NodeJS.Timeout } | undefined;
  /** Where received bytes come from when not through the call: paused for backpressure. */
  private source: Http2Stream | undefined;
  /** Pushes what was read off `source` and not yet pushed. */
  private pushPending: (() => void) | undefined;
  /** Set while blocked on the raw stream: ends the wait once its backlog is down to RAW_RESUME. */
  private rawUnblock: (() => void) | undefined;
  /** Daemon side: the direct writes to the raw stream, for releases that wait for them. */
  private readonly rawWrites = new WriteFence();
  /** Callback of each message written to the raw stream: its bytes have reached the socket. */
  private readonly rawWritten = (): void => {
    const raw = this.raw;
    if (this.rawUnblock !== undefined && raw && raw.writableLength <= RAW_RESUME) this.rawUnblock();
  };

  constructor(call: BytesMessageCall) {
    super({ allowHalfOpen: false });
    this.call = call;
    call.on('data', (m: IncomingMessage | Uint8Array) => {
      const data = m instanceof Uint8Array ? m : m.data;
      if (!data || data.byteLength === 0) return;
      if (!this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength))) call.pause();
    });
    call.once('end', () => this.finishRead());
    call.once('close', () => this.finishRead());
    call.once('error', (err: Error) => this.destroy(err));
    const serverStream = serverCallStream(call);
    this.isServerCall = serverStream !== undefined;
    // A server call's stream is paused until read through grpc-js: nothing of it has been read yet.
    if (serverStream !== undefined) this.readFrom(serverStream);
    else {
      const timer = setTimeout(() => this.stopHolding(undefined), CLIENT_HOLD_MS);
      timer.unref();
      this.holding = { batches: [], timer };
      call.once('metadata', () => this.takeOverClientStream());
    }
  }

  /** Client side: from now on writes go to `raw` (undefined: through grpc-js); held batches first. */
  private stopHolding(raw: Http2Stream | undefined): void {
    const holding = this.holding;
    if (holding === undefined) return;
    this.holding = undefined;
    clearTimeout(holding.timer);
    this.raw = raw;
    for (const b of holding.batches) this.writeBatch(b.parts, b.len, b.held);
  }

  /**
   * Reads the messages off the call's HTTP/2 stream in place of grpc-js (which assembled each one,
   * then paused the stream until it was taken): their payloads go on as they come. Only when
   * grpc-js reads it the way this expects (one 'data' listener) and has not finished; false if not.
   */
  private readFrom(stream: Http2Stream): boolean {
    const listeners = stream.listeners('data');
    if (listeners.length !== 1 || stream.readableEnded || stream.destroyed) return false;
    stream.off('data', listeners[0] as (chunk: Buffer) => void);
    // HTTP/2 hands on at most 16 KiB (a DATA frame) at a time: what comes in one event-loop turn
    // goes on as one chunk, as grpc-js's messages did (each push costs the reader a parse call).
    let parts: Buffer[] = [];
    let partsLen = 0;
    let scheduled = false;
    const pushParts = () => {
      scheduled = false;
      if (partsLen === 0 || this.destroyed) return;
      const chunk = parts.length === 1 ? parts[0]! : Buffer.concat(parts, partsLen);
      parts = [];
      partsLen = 0;
      if (!this.push(chunk)) stream.pause();
    };
    const decoder = new BytesMessageDecoder((payload) => {
      parts.push(payload);
      partsLen += payload.byteLength;
      if (partsLen >= MAX_MESSAGE) pushParts();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(pushParts);
      }
    });
    stream.on('data', (chunk: Buffer) => {
      if (this.destroyed) return;
      try {
        decoder.write(chunk);
      } catch (err) {
        this.destroy(err as Error);
      }
    });
    stream.once('end', () => {
      if (decoder.partial) this.destroy(new Error('the session stream ended inside a message'));
      else this.finishRead();
    });
    this.source = stream;
    this.pushPending = pushParts;
    return true;
  }

  /**
   * Client side, when the response headers come: reads the messages off the call's HTTP/2 stream
   * (readFrom) and lets writes go to it. Only when grpc-js has nothing of the stream yet: no data,
   * no message part, no message waiting. Otherwise everything stays with grpc-js.
   */
  private takeOverClientStream(): void {
    const found = clientCallStream(this.call);
    if (found === undefined || this.destroyed) {
      this.stopHolding(undefined);
      return;
    }
    const { stream, owner } = found;
    // Nothing has gone through grpc-js while holding: the stream is ours to write from here on.
    this.stopHolding(this.holding !== undefined ? stream : undefined);
    const sub = owner as { decoder?: { readState?: unknown }; unpushedReadMessages?: unknown };
    if (
      stream.readableLength > 0 ||
      sub.decoder?.readState !== 0 ||
      !Array.isArray(sub.unpushedReadMessages) ||
      sub.unpushedReadMessages.length > 0 ||
      ((this.call as { readableLength?: number }).readableLength ?? 0) > 0
    )
      return;
    this.readFrom(stream);
  }

  private finishRead(): void {
    if (this.ended) return;
    this.pushPending?.();
    this.ended = true;
    this.push(null);
  }

  override _read(): void {
    this.call.resume();
    this.source?.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.enqueue(chunk, cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    for (let i = 0; i < chunks.length - 1; i++) this.enqueue(chunks[i]!.chunk, undefined);
    this.enqueue(chunks[chunks.length - 1]!.chunk, cb);
  }

  private enqueue(chunk: Buffer, cb: ((err?: Error | null) => void) | undefined): void {
    if (this.partsLen > 0 && this.partsLen + chunk.byteLength > MAX_MESSAGE) this.flush();
    let rest = chunk;
    while (rest.byteLength > MAX_MESSAGE) {
      this.add(rest.subarray(0, MAX_MESSAGE));
      this.flush();
      rest = rest.subarray(MAX_MESSAGE);
    }
    this.add(rest);
    if (cb) this.held.push(cb);
    if (this.partsLen >= MAX_MESSAGE) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  private add(chunk: Buffer): void {
    if (chunk.byteLength === 0) return;
    this.parts.push(chunk);
    this.partsLen += chunk.byteLength;
  }

  /**
   * The call's HTTP/2 stream when it can be written directly: on the daemon, after sending the
   * response headers; on the client, once holding stopped with the stream found (see holding).
   */
  private rawStream(): Http2Stream | undefined {
    if (this.raw !== null) return this.raw;
    // The client's is set when holding stops (stopHolding).
    if (!this.isServerCall) return undefined;
    this.raw = serverCallStream(this.call);
    const sendMetadata = (this.call as { sendMetadata?: (md: Metadata) => void }).sendMetadata;
    if (this.raw !== undefined && typeof sendMetadata === 'function')
      sendMetadata.call(this.call, new Metadata());
    else this.raw = undefined;
    return this.raw;
  }

  private flush(): void {
    const held = this.held;
    this.held = [];
    const parts = this.parts;
    const len = this.partsLen;
    this.parts = [];
    this.partsLen = 0;
    if (this.destroyed) {
      // Torn down before the turn ended: the peer is gone.
      this.releaseAfterRaw(held, new Error('tunnel closed'));
      return;
    }
    // Held, callbacks and all: the writer waits (backpressure) until holding stops.
    if (this.holding !== undefined) this.holding.batches.push({ parts, len, held });
    else this.writeBatch(parts, len, held);
  }

  private writeBatch(parts: Buffer[], len: number, held: WriteCallback[]): void {
    if (this.destroyed) {
      this.releaseAfterRaw(held, new Error('tunnel closed'));
      return;
    }
    let pushBack: NodeJS.EventEmitter | undefined;
    if (len > 0) {
      try {
        const raw = this.rawStream();
        if (raw !== undefined) {
          if (raw.destroyed || raw.closed || raw.writableEnded) throw new Error('session stream closed');
          // gRPC framing and the BytesMessage field header in front, the chunks as they are behind:
          // the same bytes grpc-js would send, without its two copies.
          raw.cork();
          raw.write(bytesMessagePrefix(len));
          for (let i = 0; i < parts.length - 1; i++) raw.write(parts[i]);
          if (this.isServerCall) {
            // The daemon's writer (its HTTP/2 client) sends buffers it reuses once their writes
            // complete: complete them when HTTP/2 has written these bytes to the socket, not before.
            // The writer bounds what it has in flight, so the tunnel need not push back as well.
            this.rawWrites.start();
            raw.write(parts[parts.length - 1], (err?: Error | null) => {
              this.rawWrites.complete();
              this.release(held, err ?? null);
              this.rawWritten();
            });
            raw.uncork();
            return;
          }
          raw.write(parts[parts.length - 1], this.rawWritten);
          raw.uncork();
          if (raw.writableLength >= RAW_BACKLOG) pushBack = raw;
        } else {
          if (!this.call.write(encodedBytesMessage(parts, len))) pushBack = this.call;
        }
      } catch (err) {
        this.releaseAfterRaw(held, err as Error);
        this.releaseWaiting(err as Error);
        return;
      }
    }
    if (pushBack !== undefined && !this.blocked) {
      this.blocked = true;
      const emitter = pushBack;
      const raw = emitter === this.raw;
      const settle = (err: Error | null) => {
        if (raw) this.rawUnblock = undefined;
        else emitter.off('drain', drained);
        emitter.off('close', closed);
        this.blocked = false;
        this.releaseWaiting(err);
      };
      // Written on (down to RAW_RESUME, or drained): the held frames may follow. Closed first: they
      // never will, so say so.
      const drained = () => settle(null);
      const closed = () => settle(new Error('session stream closed before the tunnel frames were sent'));
      if (raw) this.rawUnblock = drained;
      else emitter.on('drain', drained);
      emitter.on('close', closed);
    }
    if (this.blocked) this.waiting.push(...held);
    else this.release(held, null);
  }

  /**
   * Daemon side: callbacks of writes that will not go out, run only once the raw writes before
   * them completed. A large batch goes out as several messages with its callbacks on the last,
   * so the first ones may still be queued on the HTTP/2 stream (and later sent): the writer must
   * not reuse their memory yet.
   */
  private releaseAfterRaw(cbs: WriteCallback[], err: Error | null): void {
    if (this.isServerCall) this.rawWrites.after(() => this.release(cbs, err));
    else this.release(cbs, err);
  }

  private release(cbs: ((err?: Error | null) => void)[], err: Error | null): void {
    for (const cb of cbs) cb(err);
  }

  private releaseWaiting(err: Error | null): void {
    this.release(this.waiting.splice(0), err);
  }

  override _final(cb: (err?: Error | null) => void): void {
    try {
      this.flush();
      // Ending through grpc-js: what is held must go the same way first.
      this.stopHolding(undefined);
      this.call.end();
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const reason = err ?? new Error('tunnel closed');
    this.releaseAfterRaw(this.held.splice(0), reason);
    if (this.holding !== undefined) {
      clearTimeout(this.holding.timer);
      for (const b of this.holding.batches) this.release(b.held, reason);
      this.holding = undefined;
    }
    this.parts = [];
    this.partsLen = 0;
    this.releaseWaiting(reason);
    try {
      if (!this.writableFinished) this.call.end();
    } catch {
      // Already closed.
    }
    cb(err);
  }
}
