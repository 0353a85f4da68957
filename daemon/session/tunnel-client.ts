import type { Duplex } from 'node:stream';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { CanceledError, InvalidArgumentError, KilnError, throwIfAborted } from '../../proto/errors.js';
import { decodeGrpcMessage, errorFromGrpcStatus, SessionCallError } from './grpc-status.js';
import { H2ClientConnection, type H2Stream } from './h2/connection.js';
import { ErrorCode } from './h2/frames.js';
import { CoalescingWriter } from '../../proto/grpc-raw-stream.js';
import { MessageQueue, type MessageSink } from '../../proto/message-queue.js';
import { type HeaderList, HpackError } from './h2/hpack.js';

/**
 * The daemon's gRPC client inside the session tunnel: HTTP/2 with gRPC's 5-byte message framing
 * (BuildKit dials grpc-go over the hijacked conn; Kiln's own HTTP/2 client, h2/, plays that role).
 */

/** Per-call request metadata; an array is sent as repeated header fields. */
export type CallMetadata = Readonly<Record<string, string | readonly string[]>>;

export interface SessionStreamCall extends AsyncIterable<Uint8Array> {
  /** Sends one message; waits while the peer applies backpressure. */
  send(message: Uint8Array): Promise<void>;
  /** As send, for a message already framed with gRPC's 5-byte prefix (saves a copy). */
  sendFramed(frame: Uint8Array): Promise<void>;
  /**
   * Queues messages already framed back to back, as they are (no copy); `released` runs once
   * their bytes are written or dropped (always, also when this throws). False: wait for waitWritable()
   * before writing more.
   */
  writeFrames(frames: Uint8Array, released?: () => void): boolean;
  /** Resolves once the send backlog has come down (rejects if the call failed meanwhile). */
  waitWritable(): Promise<void>;
  /** Half-closes the request side (CloseSend). */
  end(): void;
  /**
   * Every message received so far (at least one), or undefined once the call is over; instead of
   * iterating, for readers of many small messages (one wait per batch rather than per message).
   */
  nextBatch(): Promise<Uint8Array[] | undefined>;
  /** Resolves with the final status once the call is over (rejects with the typed error). */
  readonly done: Promise<void>;
}

/** Reading pauses (HTTP/2 flow control pushes back) past this many queued messages or bytes. */
const MAX_BUFFERED_MESSAGES = 4096;
/** The largest message taken from the client (gRPC's default limit is 4 MiB; fsutil sends 32 KiB). */
export const MAX_RECEIVE_MESSAGE = 16 * 1024 * 1024;
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const STREAM_WINDOW = 8 * 1024 * 1024;
/**
 * Bytes queued on a call's stream past which senders wait, and the level at which they go on: not
 * 'drain' (nothing queued), which let the stream run dry before the sender refilled it.
 */
const SEND_BACKLOG = 2 * 1024 * 1024;
const SEND_RESUME = 1024 * 1024;
const SESSION_WINDOW = 32 * 1024 * 1024;
/** The largest frame we take; DATA from the client's end may come in frames this large. */
const MAX_FRAME = 1024 * 1024;

export class TunnelGrpcClient {
  private readonly h2: H2ClientConnection;
  readonly closed: Promise<Error | undefined>;

  constructor(conn: Duplex) {
    // Wide flow-control windows: every WINDOW_UPDATE crosses the tunnel (two gRPC hops), so the
    // 64 KiB defaults capped file sync at one window per round trip.
    this.h2 = new H2ClientConnection(conn, {
      streamWindow: STREAM_WINDOW,
      connectionWindow: SESSION_WINDOW,
      maxFrameSize: MAX_FRAME,
    });
    this.closed = this.h2.closed;
  }

  get isClosed(): boolean {
    return this.h2.isClosed;
  }

  close(): void {
    this.h2.destroy();
  }

  stream(method: string, metadata: CallMetadata, signal: AbortSignal): SessionStreamCall {
    throwIfAborted(signal);
    if (this.isClosed)
      throw new SessionCallError('UNAVAILABLE', GrpcStatus.UNAVAILABLE, `${method}: session closed`);
    const headers: HeaderList = [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', method],
      [':authority', 'localhost'],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ['user-agent', 'kiln-session/0.1'],
    ];
    for (const [k, v] of Object.entries(metadata)) {
      const name = k.toLowerCase();
      // One header field per value of a repeated key, as grpc-go sends them.
      for (const value of typeof v === 'string' ? [v] : v) headers.push([name, value]);
    }
    try {
      return new GrpcCall(method, this.h2, headers, signal);
    } catch (err) {
      if (err instanceof HpackError) throw new InvalidArgumentError(`${method}: ${err.message}`);
      throw err;
    }
  }
  async unary(
    method: string,
    request: Uint8Array,
    metadata: CallMetadata,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    const call = this.stream(method, metadata, signal);
    const sent = call.send(request).then(() => call.end());
    let response: Uint8Array | undefined;
    for await (const m of call) {
      if (response !== undefined) {
        throw new SessionCallError(
          'INTERNAL',
          GrpcStatus.INTERNAL,
          `${method}: more than one response message`,
        );
      }
      response = m;
    }
    await sent;
    if (response === undefined) {
      throw new SessionCallError('INTERNAL', GrpcStatus.INTERNAL, `${method}: no response message`);
    }
    return response;
  }
}

class GrpcCall implements SessionStreamCall {
  /** Received bytes not yet framed into messages, as they came off the stream. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private status: number | undefined;
  private statusMessage = '';
  private error: KilnError | undefined;
  private finished = false;
  private sawResponse = false;
  /** Where received messages go (set as the queue opens, in the constructor). */
  private sink!: MessageSink;
  /** Received messages for the reader; the stream is paused while too many wait. */
  private readonly incoming = new MessageQueue(
    {
      start: (sink) => {
        this.sink = sink;
      },
      pause: () => this.stream.pause(),
      resume: () => this.stream.resume(),
      isPaused: () => this.stream.paused,
    },
    { messages: MAX_BUFFERED_MESSAGES, bytes: MAX_BUFFERED_BYTES },
  );
  /** Small framed messages gathered into fewer stream writes. */
  private readonly out = new CoalescingWriter((chunk) => {
    if (!this.stream.localEnded && !this.stream.closed) this.stream.write(chunk);
  });
  /** Set while a sender waits for the backlog to come down to SEND_RESUME (or the stream to close). */
  private sendWaiter: (() => void) | undefined;
  private resolveDone!: () => void;
  private rejectDone!: (err: unknown) => void;
  readonly done: Promise<void>;
  private readonly stream: H2Stream;

  constructor(
    private readonly method: string,
    h2: H2ClientConnection,
    headers: HeaderList,
    private readonly signal: AbortSignal,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Callers that only iterate learn the outcome there; avoid unhandled rejections.
    this.done.catch(() => {});
    this.incoming.open();
    this.stream = h2.open(headers, {
      onHeaders: (h, endStream) => this.onHeaders(h, endStream),
      onData: (chunk) => this.onData(chunk),
      onEnd: () => this.onEnd(),
      onClose: (rstCode, error) => this.onClose(rstCode, error),
      onWritable: () => {
        if (this.sendWaiter !== undefined && this.stream.queuedBytes <= SEND_RESUME) this.wakeSender();
      },
    });
    // Listened to once the stream exists (open can throw).
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  private readonly onAbort = (): void => {
    const reason: unknown = this.signal.reason;
    this.fail(
      reason instanceof KilnError ? reason : new CanceledError(`${this.method}: canceled: ${String(reason)}`),
    );
    this.stream.reset(ErrorCode.CANCEL);
  };

  /** The response side ended (trailers), maybe while our request side is still open. */
  private onEnd(): void {
    if (this.status === GrpcStatus.OK && this.pendingBytes === 0) {
      // Readers finish; the call's outcome still comes with the stream's close.
      this.sink.end();
    } else if (this.status !== undefined && this.status !== GrpcStatus.OK) {
      this.fail(errorFromGrpcStatus(this.status, this.statusMessage, this.method));
    }
  }

  /** The stream is over: the call's outcome from its status, the reset or the connection's error. */
  private onClose(rstCode: number | undefined, error: Error | undefined): void {
    const method = this.method;
    this.signal.removeEventListener('abort', this.onAbort);
    this.wakeSender();
    if (error !== undefined && this.status === undefined) {
      this.fail(
        new SessionCallError('UNAVAILABLE', GrpcStatus.UNAVAILABLE, `${method}: ${error.message}`, {
          cause: error,
        }),
      );
    } else if (this.status === undefined) {
      this.fail(
        new SessionCallError(
          'UNAVAILABLE',
          GrpcStatus.UNAVAILABLE,
          `${method}: stream closed without a status (rst code ${rstCode ?? 'none'})`,
        ),
      );
    } else if (this.status !== GrpcStatus.OK) {
      this.fail(errorFromGrpcStatus(this.status, this.statusMessage, method));
    } else if (this.pendingBytes > 0) {
      this.fail(new SessionCallError('INTERNAL', GrpcStatus.INTERNAL, `${method}: truncated message`));
    } else {
      this.finish();
    }
  }

  private onHeaders(list: HeaderList, endStream: boolean): void {
    const h = headerMap(list);
    if (!this.sawResponse) {
      this.sawResponse = true;
      const code = Number(h[':status']);
      if (code !== 200) {
        this.fail(
          new SessionCallError(
            'UNAVAILABLE',
            GrpcStatus.UNAVAILABLE,
            `${this.method}: unexpected HTTP status ${code}`,
          ),
        );
        this.stream.reset(ErrorCode.CANCEL);
        return;
      }
      // Trailers-only response: the status comes with the headers.
      this.readStatus(h);
      return;
    }
    if (endStream) this.readStatus(h);
  }

  private readStatus(h: Readonly<Record<string, string>>): void {
    const raw = h['grpc-status'];
    if (raw === undefined) return;
    this.status = Number(raw);
    this.statusMessage = decodeGrpcMessage(h['grpc-message']);
  }

  private onData(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.byteLength;
    for (;;) {
      const head = this.peekHeader();
      if (head === undefined) break;
      const length = head.readUInt32BE(1);
      // Checked from the prefix alone: a peer announcing a huge message must not make us buffer it.
      const refused =
        head[0] !== 0
          ? new SessionCallError(
              'INTERNAL',
              GrpcStatus.INTERNAL,
              `${this.method}: compressed messages unsupported`,
            )
          : length > MAX_RECEIVE_MESSAGE
            ? new SessionCallError(
                'INTERNAL',
                GrpcStatus.RESOURCE_EXHAUSTED,
                `${this.method}: received message larger than max (${length} vs ${MAX_RECEIVE_MESSAGE})`,
              )
            : undefined;
      if (refused) {
        this.fail(refused);
        this.stream.reset(ErrorCode.CANCEL);
        return;
      }
      if (this.pendingBytes < 5 + length) break;
      this.skip(5);
      this.sink.message(this.take(length));
    }
  }

  /** Drops `n` pending bytes (a message prefix). */
  private skip(n: number): void {
    this.pendingBytes -= n;
    while (n > 0) {
      const head = this.pending[0]!;
      if (head.byteLength > n) {
        this.pending[0] = head.subarray(n);
        return;
      }
      n -= head.byteLength;
      this.pending.shift();
    }
  }

  /** The pending chunk that starts with the 5-byte gRPC message prefix, if it has arrived. */
  private peekHeader(): Buffer | undefined {
    if (this.pendingBytes < 5) return undefined;
    let head = this.pending[0]!;
    if (head.byteLength < 5) {
      // Rare (a DATA frame split inside the prefix): merge just the leading chunks that hold it.
      let n = 0;
      let size = 0;
      while (size < 5) size += this.pending[n++]!.byteLength;
      head = Buffer.concat(this.pending.slice(0, n), size);
      this.pending.splice(0, n, head);
    }
    return head;
  }

  /**
   * Removes `n` pending bytes as one message: chunks are only joined once a whole message is there,
   * not on every DATA frame (re-concatenating a growing buffer was quadratic in message size).
   */
  private take(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    this.pendingBytes -= n;
    const head = this.pending[0]!;
    if (head.byteLength >= n) {
      // A view, not a copy: http2 hands every read a new buffer, never reused, so the message
      // may keep it alive but sees no other bytes (most fsutil packets fit in one DATA frame).
      const out = head.subarray(0, n);
      if (head.byteLength === n) this.pending.shift();
      else this.pending[0] = head.subarray(n);
      return out;
    }
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const c = this.pending[0]!;
      const k = Math.min(c.byteLength, n - off);
      out.set(c.subarray(0, k), off);
      off += k;
      if (k === c.byteLength) this.pending.shift();
      else this.pending[0] = c.subarray(k);
    }
    return out;
  }

  private wakeSender(): void {
    const w = this.sendWaiter;
    this.sendWaiter = undefined;
    w?.();
  }

  private fail(err: KilnError): void {
    if (this.finished) return;
    this.finished = true;
    this.error = err;
    this.rejectDone(err);
    this.sink.error(err);
    // A sender waiting for the backlog to shrink learns of the failure now, not never.
    this.wakeSender();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.resolveDone();
    this.sink.end();
  }

  async send(message: Uint8Array): Promise<void> {
    const frame = Buffer.allocUnsafe(5 + message.byteLength);
    frame[0] = 0;
    frame.writeUInt32BE(message.byteLength, 1);
    frame.set(message, 5);
    return this.sendFramed(frame);
  }

  /** Throws if nothing more can be sent, releasing `released` first (it runs on every path). */
  private checkWritable(released: (() => void) | undefined): void {
    try {
      if (this.error) throw this.error;
      throwIfAborted(this.signal);
      // A message after the call ended would vanish: fail instead of letting a producer go on.
      if (this.stream.localEnded || this.stream.closed) throw new Error('session call closed');
    } catch (err) {
      released?.();
      throw err;
    }
  }

  async sendFramed(framed: Uint8Array): Promise<void> {
    this.checkWritable(undefined);
    this.out.push(
      Buffer.isBuffer(framed) ? framed : Buffer.from(framed.buffer, framed.byteOffset, framed.byteLength),
    );
    // Keep a backlog queued for the connection to frame as its windows open, rather than waiting
    // for each write to go out.
    if (this.stream.queuedBytes + this.out.pendingBytes < SEND_BACKLOG) return;
    this.out.flush();
    if (this.stream.queuedBytes < SEND_BACKLOG) return;
    await this.waitWritable();
  }

  writeFrames(frames: Uint8Array, released?: () => void): boolean {
    this.checkWritable(released);
    this.out.flush();
    this.stream.write(Buffer.from(frames.buffer, frames.byteOffset, frames.byteLength), released);
    return this.stream.queuedBytes < SEND_BACKLOG;
  }

  async waitWritable(): Promise<void> {
    if (this.error) throw this.error;
    if (this.stream.queuedBytes >= SEND_BACKLOG && !this.stream.closed) {
      // One sender at a time waits (callers await each send); a second one would take its place.
      const previous = this.sendWaiter;
      await new Promise<void>((resolve) => {
        this.sendWaiter = () => {
          previous?.();
          resolve();
        };
      });
    }
    if (this.error) throw this.error;
    if (this.stream.closed) throw new Error('session call closed');
  }

  end(): void {
    this.out.flush();
    this.stream.end();
  }

  nextBatch(): Promise<Uint8Array[] | undefined> {
    return this.incoming.nextBatch();
  }

  /** Several loops may read in turn (e.g. the fsutil code, then a drain); leaving one does not cancel. */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.incoming.iterator();
  }
}

/** Header fields by name; the first of a repeated name wins. */
function headerMap(list: HeaderList): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of list) if (!(name in out)) out[name] = value;
  return out;
}
