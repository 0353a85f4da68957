import type { Duplex } from 'node:stream';
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  ErrorCode,
  errorCodeName,
  Flag,
  FRAME_HEADER_BYTES,
  frameHeader,
  FrameType,
  MAX_FRAME_LIMIT,
  MAX_WINDOW,
  Setting,
  setting,
  smallFrame,
  u32,
} from './frames.js';
import { encodeHeaders, type HeaderList, HpackDecoder, HpackError } from './hpack.js';
import { WriteFence } from '../write-fence.js';

/**
 * A minimal HTTP/2 client (RFC 9113) for the session tunnel, where the daemon calls the gRPC server
 * the client runs at the other end. Node's http2 over a JS stream copied every frame twice on the
 * way in and out and sent DATA in 16 KiB frames, whatever the peer allowed, which made exports
 * CPU-bound on framing. Here frames are parsed straight off the tunnel's bytes (DATA payloads go on
 * as views, never joined) and written as a header in front of the caller's own buffers, as large as
 * the peer's SETTINGS_MAX_FRAME_SIZE lets them be. Only what a gRPC client needs: requests on
 * odd streams, no push, no priorities, no dynamic table on the sending side.
 */

/** What a stream tells its owner; nothing is called after onClose. */
export interface H2StreamEvents {
  /** A complete header block: the response headers, then trailers (with endStream). */
  onHeaders(headers: HeaderList, endStream: boolean): void;
  /** Payload bytes in order: views of received memory, which is never reused. */
  onData(chunk: Buffer): void;
  /** The peer ended its side (END_STREAM), after its last data and headers. */
  onEnd(): void;
  /**
   * The stream is over: both sides ended (rstCode and error undefined), it was reset (rstCode), or
   * the connection failed (error).
   */
  onClose(rstCode: number | undefined, error: Error | undefined): void;
  /** Queued bytes went out: a writer held back by `queuedBytes` may go on. */
  onWritable(): void;
}

export interface H2ClientOptions {
  /** Our SETTINGS_INITIAL_WINDOW_SIZE: what the peer may send on a stream before we credit it. */
  readonly streamWindow: number;
  /** The connection's receive window. */
  readonly connectionWindow: number;
  /** Our SETTINGS_MAX_FRAME_SIZE. */
  readonly maxFrameSize: number;
}

/** The connection failed: a protocol error of either side, or the transport went away. */
export class H2ConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'H2ConnectionError';
  }
}

/**
 * Bytes handed to the transport whose writes have not completed, past which no more DATA is framed,
 * and the level at which framing goes on again: before the transport runs dry (see RAW_BACKLOG in
 * tunnel-duplex.ts for what waiting until nothing was left cost).
 */
const OUTPUT_BACKLOG = 8 * 1024 * 1024;
const OUTPUT_RESUME = 4 * 1024 * 1024;
/**
 * Past this many answers (PING and SETTINGS ACKs) not yet written, another PING or SETTINGS fails
 * the connection: a peer that sends them faster than it reads would otherwise grow our queue
 * without bound (nghttp2 stops at a thousand).
 */
const MAX_UNSENT_ACKS = 10_000;
/** Our SETTINGS_MAX_HEADER_LIST_SIZE (the decoder's limit), and the most a header block may take. */
const MAX_HEADER_LIST = 256 * 1024;
const MAX_HEADER_BLOCK = MAX_HEADER_LIST + 64 * 1024;
const MAX_CONTINUATIONS = 1024;

interface Queued {
  readonly buf: Buffer;
  readonly cb: (() => void) | undefined;
}

export class H2Stream {
  /** 0 until the HEADERS go out (the peer may limit concurrent streams). */
  id = 0;
  sendWindow = 0;
  recvWindow = 0;
  /** Received bytes not yet credited back with WINDOW_UPDATE. */
  recvUnacked = 0;
  paused = false;
  localEnded = false;
  endSent = false;
  remoteEnded = false;
  closed = false;
  /** After the response headers, a header block is the trailers. */
  sawHeaders = false;
  /** Buffers to send; those before `head` are framed. */
  private readonly queue: Queued[] = [];
  private head = 0;
  /** Bytes of queue[head] already framed. */
  private headOffset = 0;
  /** Bytes queued and not yet framed. */
  queuedBytes = 0;

  constructor(
    private readonly conn: H2ClientConnection,
    /** The request's header block, encoded before anything is registered (encoding can throw). */
    readonly block: Buffer,
    readonly events: H2StreamEvents,
  ) {}

  /**
   * Queues `buf` as DATA. The memory is sent as it is: it must not change until `released` runs,
   * once the transport has completed the writes of all of it (or the stream dropped it).
   */
  write(buf: Buffer, released?: () => void): void {
    if (this.localEnded || this.closed) {
      released?.();
      throw new Error('HTTP/2 stream closed for writing');
    }
    if (buf.byteLength === 0 && released === undefined) return;
    this.queue.push({ buf, cb: released });
    this.queuedBytes += buf.byteLength;
    this.conn.wantsToSend(this);
  }

  /** Ends our side (END_STREAM) after what is queued. */
  end(): void {
    if (this.localEnded || this.closed) return;
    this.localEnded = true;
    this.conn.wantsToSend(this);
  }

  /** Resets the stream (RST_STREAM) with `code`; onClose follows. */
  reset(code: number): void {
    this.conn.resetStream(this, code);
  }

  /** Stops crediting received data: the peer stops once the stream window is used up. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.conn.credit(this);
  }

  /**
   * Takes the next `n` queued bytes (at most queuedBytes) as views into `pieces`; the release
   * callbacks of the buffers taken whole (and of empty ones after them) go to `released`.
   */
  take(n: number, pieces: Buffer[], released: (() => void)[]): void {
    let taken = 0;
    while (taken < n) {
      const q = this.queue[this.head]!;
      const k = Math.min(q.buf.byteLength - this.headOffset, n - taken);
      if (k > 0) pieces.push(q.buf.subarray(this.headOffset, this.headOffset + k));
      taken += k;
      this.headOffset += k;
      if (this.headOffset === q.buf.byteLength) {
        if (q.cb) released.push(q.cb);
        this.head++;
        this.headOffset = 0;
      }
    }
    this.queuedBytes -= n;
    this.takeEmpty(released);
  }

  /** The release callbacks of the empty buffers at the head of the queue (nothing to frame). */
  takeEmpty(released: (() => void)[]): void {
    while (this.head < this.queue.length && this.queue[this.head]!.buf.byteLength === 0) {
      const cb = this.queue[this.head++]!.cb;
      if (cb) released.push(cb);
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head >= 256) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  /**
   * Empties the queue: the callbacks of buffers never framed, and of the one partly framed (its
   * frames may still be on their way: the caller releases it once they are written).
   */
  dropQueued(): { readonly unframed: (() => void)[]; readonly partlyFramed: (() => void) | undefined } {
    const rest = this.queue.slice(this.head);
    const partly = this.headOffset > 0 ? rest.shift() : undefined;
    this.queue.length = 0;
    this.head = 0;
    this.headOffset = 0;
    this.queuedBytes = 0;
    const unframed: (() => void)[] = [];
    for (const q of rest) if (q.cb) unframed.push(q.cb);
    return { unframed, partlyFramed: partly?.cb };
  }
}

export class H2ClientConnection {
  readonly closed: Promise<Error | undefined>;
  private resolveClosed!: (err: Error | undefined) => void;
  private dead = false;
  private readonly decoder = new HpackDecoder({ maxListBytes: MAX_HEADER_LIST });
  private readonly streams = new Map<number, H2Stream>();
  /** Streams waiting for the peer's MAX_CONCURRENT_STREAMS to allow them. */
  private readonly pendingOpen: H2Stream[] = [];
  private nextStreamId = 1;
  private peerMaxConcurrent = Number.POSITIVE_INFINITY;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME;
  private connSendWindow = DEFAULT_WINDOW;
  private connRecvWindow: number;
  private connRecvUnacked = 0;
  private goAway = false;
  /** Streams with DATA (or an END_STREAM) to send, in the order they asked. */
  private readonly sending = new Set<H2Stream>();
  private pumpScheduled = false;
  /** Framing stopped at OUTPUT_BACKLOG; a completed write below OUTPUT_RESUME starts it again. */
  private blockedOnTransport = false;
  /** Bytes handed to the transport whose writes have not completed. */
  private inFlightBytes = 0;
  /** Frames not yet handed to the transport. */
  private out: Buffer[] = [];
  private outBytes = 0;
  /** ACK frames in `out`, and in batches handed to the transport and not yet written. */
  private acksOut = 0;
  private acksInFlight = 0;
  /** Release callbacks of the queued buffers whose last bytes are in `out`. */
  private outReleased: (() => void)[] = [];
  private flushScheduled = false;
  /** Streams whose received data may be credited. */
  private readonly toCredit = new Set<H2Stream>();

  // Frame parser state.
  private readonly head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  private headFill = 0;
  private frameLength = 0;
  private frameType = 0;
  private frameFlags = 0;
  private frameStream = 0;
  /** Payload bytes of the current frame still to come; -1: reading a header. */
  private remaining = -1;
  /** The current frame's payload as it is gathered (every frame but an unpadded DATA). */
  private payloadParts: Buffer[] | undefined;
  /** The stream an unpadded DATA frame's payload goes to as it comes (undefined: dropped). */
  private dataStream: H2Stream | undefined;
  /** A header block waiting for its CONTINUATION frames. */
  private continuation: { stream: number; flags: number; parts: Buffer[]; bytes: number } | undefined;
  /** The batches handed to the transport, for releases that wait for them to be written. */
  private readonly fence = new WriteFence();

  constructor(
    private readonly conn: Duplex,
    private readonly opts: H2ClientOptions,
  ) {
    this.connRecvWindow = opts.connectionWindow;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    conn.on('data', (chunk: Buffer) => this.guard(() => this.onBytes(chunk)));
    conn.once('end', () => this.teardown(undefined));
    conn.once('close', () => this.teardown(undefined));
    conn.once('error', (err: Error) => this.teardown(new H2ConnectionError(err.message)));
    const settings = Buffer.concat([
      setting(Setting.ENABLE_PUSH, 0),
      setting(Setting.INITIAL_WINDOW_SIZE, opts.streamWindow),
      setting(Setting.MAX_FRAME_SIZE, opts.maxFrameSize),
      setting(Setting.MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST),
    ]);
    this.emit(CLIENT_PREFACE);
    this.emit(smallFrame(FrameType.SETTINGS, 0, 0, settings));
    if (opts.connectionWindow > DEFAULT_WINDOW)
      this.emit(smallFrame(FrameType.WINDOW_UPDATE, 0, 0, u32(opts.connectionWindow - DEFAULT_WINDOW)));
    this.scheduleFlush();
  }

  get isClosed(): boolean {
    return this.dead || this.goAway;
  }

  /** Starts a request; `headers` are sent as they are (lower-case names, pseudo-headers first). */
  open(headers: HeaderList, events: H2StreamEvents): H2Stream {
    // Throws (HpackError) on a header that cannot be sent, before the stream exists anywhere.
    const s = new H2Stream(this, encodeHeaders(headers), events);
    if (this.dead || this.goAway) {
      const why = new H2ConnectionError(
        this.dead ? 'the session connection is closed' : 'the peer sent GOAWAY',
      );
      queueMicrotask(() => this.guard(() => this.closeStream(s, undefined, why)));
      return s;
    }
    if (this.streams.size < this.peerMaxConcurrent) this.start(s);
    else this.pendingOpen.push(s);
    return s;
  }

  /** Tears the connection down now: every stream closes with an error. */
  destroy(err?: Error): void {
    if (!this.dead) this.conn.destroy();
    this.teardown(err);
  }

  /** Opens the waiting streams the peer's MAX_CONCURRENT_STREAMS now allows. */
  private startPending(): void {
    while (!this.dead && this.pendingOpen.length > 0 && this.streams.size < this.peerMaxConcurrent)
      this.start(this.pendingOpen.shift()!);
  }

  private start(s: H2Stream): void {
    if (this.nextStreamId > MAX_WINDOW) {
      this.closeStream(s, undefined, new H2ConnectionError('out of HTTP/2 stream ids'));
      return;
    }
    s.id = this.nextStreamId;
    this.nextStreamId += 2;
    s.sendWindow = this.peerInitialWindow;
    s.recvWindow = this.opts.streamWindow;
    this.streams.set(s.id, s);
    const block = s.block;
    let at = 0;
    let type: number = FrameType.HEADERS;
    do {
      const n = Math.min(block.byteLength - at, this.peerMaxFrame);
      const last = at + n >= block.byteLength;
      this.emit(frameHeader(n, type, last ? Flag.END_HEADERS : 0, s.id));
      if (n > 0) this.emit(block.subarray(at, at + n));
      at += n;
      type = FrameType.CONTINUATION;
    } while (at < block.byteLength);
    this.scheduleFlush();
    if (s.queuedBytes > 0 || s.localEnded) this.wantsToSend(s);
  }

  /** Called by a stream with something to send. */
  wantsToSend(s: H2Stream): void {
    if (s.id === 0 || s.closed || this.dead) return;
    this.sending.add(s);
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => this.guard(() => this.pump()));
  }

  /** Frames queued DATA while the windows and the transport allow. */
  private pump(): void {
    this.pumpScheduled = false;
    if (this.dead) return;
    const served = new Set<H2Stream>();
    while (this.sending.size > 0 && !this.transportFull()) {
      let progressed = false;
      for (const s of this.sending) {
        const result = this.sendFrom(s);
        if (result !== 'blocked') progressed = true;
        if (result !== 'more') this.sending.delete(s);
        served.add(s);
      }
      if (!progressed) break;
    }
    this.flush();
    if (this.sending.size > 0 && this.transportFull()) this.blockedOnTransport = true;
    for (const s of served) if (!s.closed) s.events.onWritable();
  }

  private transportFull(): boolean {
    return this.inFlightBytes + this.outBytes >= OUTPUT_BACKLOG;
  }

  /** Runs `cb` once every frame made so far is written: with the next batch, or the last one. */
  private releaseAfterWrites(cb: () => void): void {
    if (this.out.length > 0) {
      this.outReleased.push(cb);
      this.scheduleFlush();
    } else this.fence.after(cb);
  }

  /** A batch of writes completed: `bytes` are off our hands, and so is the memory of `released`. */
  private written(bytes: number, released: readonly (() => void)[]): void {
    this.inFlightBytes -= bytes;
    for (const cb of released) cb();
    this.fence.complete();
    if (this.blockedOnTransport && this.inFlightBytes <= OUTPUT_RESUME) {
      this.blockedOnTransport = false;
      if (this.sending.size > 0) this.schedulePump();
    }
  }

  /**
   * One DATA frame from `s`: 'more' if it has more it could send now, 'done' when it has nothing
   * left, 'blocked' when a window is closed (a WINDOW_UPDATE brings it back).
   */
  private sendFrom(s: H2Stream): 'more' | 'done' | 'blocked' {
    if (s.closed || s.endSent) return 'done';
    if (s.queuedBytes === 0) {
      s.takeEmpty(this.outReleased);
      if (s.localEnded) {
        this.emit(frameHeader(0, FrameType.DATA, Flag.END_STREAM, s.id));
        this.localEndSent(s);
      }
      return 'done';
    }
    const max = Math.min(s.sendWindow, this.connSendWindow, this.peerMaxFrame);
    if (max <= 0) return 'blocked';
    const n = Math.min(max, s.queuedBytes);
    const pieces: Buffer[] = [];
    s.take(n, pieces, this.outReleased);
    s.sendWindow -= n;
    this.connSendWindow -= n;
    const ending = s.localEnded && s.queuedBytes === 0;
    this.emit(frameHeader(n, FrameType.DATA, ending ? Flag.END_STREAM : 0, s.id));
    for (const p of pieces) this.emit(p);
    if (ending) this.localEndSent(s);
    return s.queuedBytes > 0 ? 'more' : 'done';
  }

  private localEndSent(s: H2Stream): void {
    s.endSent = true;
    if (s.remoteEnded) this.closeStream(s, undefined, undefined);
  }

  /** Sends RST_STREAM (once the stream has an id) and closes it. */
  resetStream(s: H2Stream, code: number): void {
    if (s.closed) return;
    if (s.id !== 0 && !this.dead) {
      this.emit(smallFrame(FrameType.RST_STREAM, 0, s.id, u32(code)));
      this.scheduleFlush();
    }
    this.closeStream(s, code, undefined);
  }

  private closeStream(s: H2Stream, rstCode: number | undefined, error: Error | undefined): void {
    if (s.closed) return;
    s.closed = true;
    if (s.id !== 0) this.streams.delete(s.id);
    else {
      const i = this.pendingOpen.indexOf(s);
      if (i >= 0) this.pendingOpen.splice(i, 1);
    }
    this.sending.delete(s);
    this.toCredit.delete(s);
    if (this.dataStream === s) this.dataStream = undefined;
    // Dropped: nothing refers to the queued buffers any more, except the one partly framed, whose
    // frames are released once the writes holding them complete.
    const { unframed, partlyFramed } = s.dropQueued();
    if (partlyFramed) this.releaseAfterWrites(partlyFramed);
    for (const cb of unframed) cb();
    s.events.onClose(rstCode, error);
    if (!this.goAway) this.startPending();
    if (this.goAway && this.streams.size === 0 && !this.dead) this.destroy();
  }

  /** Called when a stream is resumed: credits what it held back. */
  credit(s: H2Stream): void {
    if (s.closed || s.recvUnacked === 0) return;
    this.toCredit.add(s);
    this.sendCredits(true);
  }

  /**
   * WINDOW_UPDATEs for received data: the connection's at once past a quarter of its window, a
   * stream's past a quarter of its own unless it is paused (`all`: whatever a stream holds).
   */
  private sendCredits(all: boolean): void {
    if (this.dead) return;
    if (this.connRecvUnacked >= this.opts.connectionWindow / 4 || (all && this.connRecvUnacked > 0)) {
      this.emit(smallFrame(FrameType.WINDOW_UPDATE, 0, 0, u32(this.connRecvUnacked)));
      this.connRecvWindow += this.connRecvUnacked;
      this.connRecvUnacked = 0;
    }
    for (const s of this.toCredit) {
      if (s.paused || s.closed || s.remoteEnded) {
        if (s.closed || s.remoteEnded) this.toCredit.delete(s);
        continue;
      }
      if (s.recvUnacked >= this.opts.streamWindow / 4 || (all && s.recvUnacked > 0)) {
        this.emit(smallFrame(FrameType.WINDOW_UPDATE, 0, s.id, u32(s.recvUnacked)));
        s.recvWindow += s.recvUnacked;
        s.recvUnacked = 0;
        this.toCredit.delete(s);
      }
    }
    this.scheduleFlush();
  }

  private emit(buf: Buffer): void {
    this.out.push(buf);
    this.outBytes += buf.byteLength;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.out.length === 0) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.guard(() => this.flush()));
  }

  /**
   * Hands the frames to the transport in one corked batch (one writev). The batch's release
   * callbacks run when its last write completes: writes complete in order.
   */
  private flush(): void {
    this.flushScheduled = false;
    const released = this.outReleased;
    if (this.out.length === 0) {
      if (released.length > 0) {
        this.outReleased = [];
        for (const cb of released) cb();
      }
      return;
    }
    const out = this.out;
    const bytes = this.outBytes;
    this.out = [];
    this.outBytes = 0;
    this.outReleased = [];
    if (this.dead || this.conn.destroyed || this.conn.writableEnded) {
      // Never written; earlier parts of these buffers may still be, in batches in flight.
      for (const cb of released) this.fence.after(cb);
      return;
    }
    this.inFlightBytes += bytes;
    this.fence.start();
    const acks = this.acksOut;
    this.acksOut = 0;
    this.acksInFlight += acks;
    this.conn.cork();
    for (let i = 0; i < out.length - 1; i++) this.conn.write(out[i]);
    this.conn.write(out[out.length - 1], () =>
      this.guard(() => {
        this.acksInFlight -= acks;
        this.written(bytes, released);
      }),
    );
    this.conn.uncork();
  }

  private teardown(err: Error | undefined): void {
    if (this.dead) return;
    this.dead = true;
    this.out = [];
    this.outBytes = 0;
    // Frames never handed over: their buffers are free once earlier parts of them, in batches in
    // flight, are written (the transport runs those callbacks, with an error, when it goes down).
    const released = this.outReleased;
    this.outReleased = [];
    for (const cb of released) this.fence.after(cb);
    const why = err ?? new H2ConnectionError('the session connection closed');
    for (const s of [...this.streams.values(), ...this.pendingOpen]) this.closeStream(s, undefined, why);
    this.resolveClosed(err);
  }

  /**
   * Runs `fn`, turning a throw (an owner's callback, a bug) into a failed connection: it runs from
   * transport events and microtasks, where a throw would end the daemon.
   */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.fail(
        ErrorCode.INTERNAL_ERROR,
        `internal error: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  /** A connection error: GOAWAY with `code`, then down. */
  private fail(code: number, message: string): void {
    if (this.dead) return;
    const err = new H2ConnectionError(`HTTP/2 ${errorCodeName(code)}: ${message}`);
    const lastPeerStream = u32(0);
    this.emit(smallFrame(FrameType.GOAWAY, 0, 0, Buffer.concat([lastPeerStream, u32(code)])));
    this.flush();
    this.teardown(err);
    // The GOAWAY tells the peer why; the transport goes once it is written (or after a second).
    const conn = this.conn;
    const timer = setTimeout(() => conn.destroy(), 1000);
    timer.unref();
    conn.end(() => {
      clearTimeout(timer);
      conn.destroy();
    });
  }

  // --- Receiving -------------------------------------------------------------------------------

  private onBytes(chunk: Buffer): void {
    if (this.dead) return;
    let pos = 0;
    const len = chunk.byteLength;
    while (pos < len && !this.dead) {
      if (this.remaining < 0) {
        const k = Math.min(FRAME_HEADER_BYTES - this.headFill, len - pos);
        if (this.headFill === 0 && k === FRAME_HEADER_BYTES) this.readHeader(chunk, pos);
        else {
          chunk.copy(this.head, this.headFill, pos, pos + k);
          this.headFill += k;
          if (this.headFill === FRAME_HEADER_BYTES) this.readHeader(this.head, 0);
        }
        pos += k;
        continue;
      }
      const k = Math.min(this.remaining, len - pos);
      const piece = chunk.subarray(pos, pos + k);
      pos += k;
      this.remaining -= k;
      if (this.payloadParts === undefined) {
        // Unpadded DATA: on to the stream as it comes.
        const to = this.dataStream;
        if (k > 0 && to !== undefined && !to.closed) to.events.onData(piece);
        if (this.remaining === 0) this.endOfData();
      } else {
        this.payloadParts.push(piece);
        if (this.remaining === 0) {
          const parts = this.payloadParts;
          this.payloadParts = undefined;
          this.remaining = -1;
          this.onFrame(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
        }
      }
    }
    this.sendCredits(false);
    this.flush();
  }

  private readHeader(b: Buffer, at: number): void {
    this.headFill = 0;
    this.frameLength = (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!;
    this.frameType = b[at + 3]!;
    this.frameFlags = b[at + 4]!;
    this.frameStream = b.readUInt32BE(at + 5) & MAX_WINDOW;
    if (this.frameLength > this.opts.maxFrameSize) {
      this.fail(
        ErrorCode.FRAME_SIZE_ERROR,
        `a ${this.frameLength}-byte frame (limit ${this.opts.maxFrameSize})`,
      );
      return;
    }
    if (this.continuation !== undefined && this.frameType !== FrameType.CONTINUATION) {
      this.fail(ErrorCode.PROTOCOL_ERROR, 'a header block was interrupted by another frame');
      return;
    }
    this.remaining = this.frameLength;
    if (this.frameType === FrameType.DATA && (this.frameFlags & Flag.PADDED) === 0) {
      this.payloadParts = undefined;
      this.dataStream = this.receiveData(this.frameStream, this.frameLength);
      if (this.remaining === 0 && !this.dead) this.endOfData();
      return;
    }
    if (this.frameLength > 0) {
      this.payloadParts = [];
      return;
    }
    this.payloadParts = undefined;
    this.remaining = -1;
    this.onFrame(Buffer.alloc(0));
  }

  /** Flow control for a DATA frame of `length` bytes; the stream its payload goes to. */
  private receiveData(streamId: number, length: number): H2Stream | undefined {
    if (streamId === 0) {
      this.fail(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
      return undefined;
    }
    this.connRecvWindow -= length;
    this.connRecvUnacked += length;
    if (this.connRecvWindow < 0) {
      this.fail(ErrorCode.FLOW_CONTROL_ERROR, 'the peer sent past the connection window');
      return undefined;
    }
    const s = this.streams.get(streamId);
    if (s === undefined || s.remoteEnded) return undefined;
    s.recvWindow -= length;
    if (s.recvWindow < 0) {
      this.resetStream(s, ErrorCode.FLOW_CONTROL_ERROR);
      return undefined;
    }
    s.recvUnacked += length;
    this.toCredit.add(s);
    return s;
  }

  /** The end of an unpadded DATA frame's payload. */
  private endOfData(): void {
    this.remaining = -1;
    const s = this.dataStream;
    this.dataStream = undefined;
    if (s !== undefined && !s.closed && (this.frameFlags & Flag.END_STREAM) !== 0) this.remoteEnd(s);
  }

  private remoteEnd(s: H2Stream): void {
    if (s.remoteEnded) return;
    s.remoteEnded = true;
    s.events.onEnd();
    if (s.closed) return;
    if (s.endSent) this.closeStream(s, undefined, undefined);
    // The response is complete while we still send: as grpc-go does, stop the request with
    // RST_STREAM(NO_ERROR) rather than keep sending what nobody reads.
    else this.resetStream(s, ErrorCode.NO_ERROR);
  }

  private onFrame(payload: Buffer): void {
    const flags = this.frameFlags;
    const sid = this.frameStream;
    switch (this.frameType) {
      case FrameType.DATA:
        return this.onPaddedData(sid, flags, payload);
      case FrameType.HEADERS:
        return this.onHeaders(sid, flags, payload);
      case FrameType.CONTINUATION:
        return this.onContinuation(sid, flags, payload);
      case FrameType.RST_STREAM:
        return this.onReset(sid, payload);
      case FrameType.SETTINGS:
        return this.onSettings(sid, flags, payload);
      case FrameType.PING:
        return this.onPing(sid, flags, payload);
      case FrameType.GOAWAY:
        return this.onGoAway(payload);
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(sid, payload);
      case FrameType.PUSH_PROMISE:
        return this.fail(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE, though push is disabled');
      default:
        // PRIORITY and unknown frame types are ignored.
        return;
    }
  }

  /** A padded DATA frame, gathered whole (unpadded ones go on as they come: onBytes). */
  private onPaddedData(sid: number, flags: number, payload: Buffer): void {
    const s = this.receiveData(sid, payload.byteLength);
    const body = this.unpad(payload, flags);
    if (body === undefined || s === undefined || s.closed) return;
    if (body.byteLength > 0) s.events.onData(body);
    if ((flags & Flag.END_STREAM) !== 0 && !s.closed) this.remoteEnd(s);
  }

  private onHeaders(sid: number, flags: number, payload: Buffer): void {
    if (sid === 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let body = this.unpad(payload, flags);
    if (body === undefined) return;
    if ((flags & Flag.PRIORITY) !== 0) {
      if (body.byteLength < 5) return this.fail(ErrorCode.FRAME_SIZE_ERROR, 'short HEADERS priority');
      body = body.subarray(5);
    }
    if ((flags & Flag.END_HEADERS) !== 0) this.onHeaderBlock(sid, flags, body);
    else this.continuation = { stream: sid, flags, parts: [Buffer.from(body)], bytes: body.byteLength };
  }

  private onContinuation(sid: number, flags: number, payload: Buffer): void {
    const c = this.continuation;
    if (c === undefined || c.stream !== sid)
      return this.fail(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without the HEADERS it continues');
    c.parts.push(Buffer.from(payload));
    c.bytes += payload.byteLength;
    if (c.bytes > MAX_HEADER_BLOCK || c.parts.length > MAX_CONTINUATIONS)
      return this.fail(ErrorCode.ENHANCE_YOUR_CALM, `a header block over ${MAX_HEADER_BLOCK} bytes`);
    if ((flags & Flag.END_HEADERS) === 0) return;
    this.continuation = undefined;
    this.onHeaderBlock(sid, c.flags, Buffer.concat(c.parts));
  }

  private onReset(sid: number, payload: Buffer): void {
    if (payload.byteLength !== 4)
      return this.fail(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM of the wrong size');
    if (sid === 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    const s = this.streams.get(sid);
    if (s !== undefined) this.closeStream(s, payload.readUInt32BE(0), undefined);
  }

  private onPing(sid: number, flags: number, payload: Buffer): void {
    if (payload.byteLength !== 8) return this.fail(ErrorCode.FRAME_SIZE_ERROR, 'PING of the wrong size');
    if (sid !== 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
    if ((flags & Flag.ACK) !== 0 || this.controlFlood()) return;
    this.emit(smallFrame(FrameType.PING, Flag.ACK, 0, payload));
    this.acksOut++;
  }

  /** Fails the connection when answers to the peer's control frames pile up unsent. */
  private controlFlood(): boolean {
    if (this.acksOut + this.acksInFlight < MAX_UNSENT_ACKS) return false;
    this.fail(ErrorCode.ENHANCE_YOUR_CALM, 'the peer sends control frames faster than it reads the answers');
    return true;
  }

  /** The payload without its padding (PADDED flag); undefined after a protocol error. */
  private unpad(payload: Buffer, flags: number): Buffer | undefined {
    if ((flags & Flag.PADDED) === 0) return payload;
    const pad = payload[0];
    if (pad === undefined || pad >= payload.byteLength) {
      this.fail(ErrorCode.PROTOCOL_ERROR, 'padding longer than the frame');
      return undefined;
    }
    return payload.subarray(1, payload.byteLength - pad);
  }

  private onHeaderBlock(sid: number, flags: number, block: Buffer): void {
    let headers: HeaderList;
    try {
      // Every block is decoded, even for a stream we dropped: the table is shared.
      headers = this.decoder.decode(block);
    } catch (err) {
      const message = err instanceof HpackError ? err.message : String(err);
      return this.fail(ErrorCode.COMPRESSION_ERROR, message);
    }
    const s = this.streams.get(sid);
    if (s === undefined || s.remoteEnded) return;
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if (!s.sawHeaders && !endStream) {
      const status = headers.find(([n]) => n === ':status')?.[1];
      // 1xx: an interim response; the real one follows.
      if (status !== undefined && status.length === 3 && status.startsWith('1')) return;
    }
    s.sawHeaders = true;
    s.events.onHeaders(headers, endStream);
    if (endStream && !s.closed) this.remoteEnd(s);
  }

  private onSettings(sid: number, flags: number, payload: Buffer): void {
    if (sid !== 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if ((flags & Flag.ACK) !== 0) {
      if (payload.byteLength !== 0) this.fail(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if (payload.byteLength % 6 !== 0)
      return this.fail(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS of the wrong size');
    if (this.controlFlood()) return;
    for (let at = 0; at < payload.byteLength; at += 6) {
      const id = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      switch (id) {
        case Setting.MAX_CONCURRENT_STREAMS:
          this.peerMaxConcurrent = value;
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW)
            return this.fail(ErrorCode.FLOW_CONTROL_ERROR, 'initial window over 2^31-1');
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const s of this.streams.values()) {
            s.sendWindow += delta;
            if (s.sendWindow > MAX_WINDOW)
              return this.fail(ErrorCode.FLOW_CONTROL_ERROR, 'a stream window over 2^31-1');
            if (delta > 0 && (s.queuedBytes > 0 || (s.localEnded && !s.endSent))) this.wantsToSend(s);
          }
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME || value > MAX_FRAME_LIMIT)
            return this.fail(ErrorCode.PROTOCOL_ERROR, `MAX_FRAME_SIZE ${value} out of range`);
          this.peerMaxFrame = value;
          break;
        default:
          // HEADER_TABLE_SIZE: our encoder never indexes; ENABLE_PUSH and the rest: nothing to do.
          break;
      }
    }
    this.emit(smallFrame(FrameType.SETTINGS, Flag.ACK, 0));
    this.acksOut++;
    this.startPending();
  }

  private onGoAway(payload: Buffer): void {
    if (payload.byteLength < 8) return this.fail(ErrorCode.FRAME_SIZE_ERROR, 'GOAWAY too short');
    const last = payload.readUInt32BE(0) & MAX_WINDOW;
    const code = payload.readUInt32BE(4);
    this.goAway = true;
    const why = new H2ConnectionError(`the peer sent GOAWAY (${errorCodeName(code)})`);
    for (const s of [...this.streams.values()]) if (s.id > last) this.closeStream(s, undefined, why);
    for (const s of this.pendingOpen.splice(0)) this.closeStream(s, undefined, why);
    if (this.streams.size === 0) this.destroy();
  }

  private onWindowUpdate(sid: number, payload: Buffer): void {
    if (payload.byteLength !== 4)
      return this.fail(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE of the wrong size');
    const inc = payload.readUInt32BE(0) & MAX_WINDOW;
    if (sid === 0) {
      if (inc === 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'a zero connection WINDOW_UPDATE');
      this.connSendWindow += inc;
      if (this.connSendWindow > MAX_WINDOW)
        return this.fail(ErrorCode.FLOW_CONTROL_ERROR, 'connection window over 2^31-1');
      for (const s of this.streams.values()) if (s.queuedBytes > 0) this.wantsToSend(s);
      return;
    }
    const s = this.streams.get(sid);
    if (s === undefined) return;
    if (inc === 0) return this.resetStream(s, ErrorCode.PROTOCOL_ERROR);
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) return this.resetStream(s, ErrorCode.FLOW_CONTROL_ERROR);
    if (s.queuedBytes > 0) this.wantsToSend(s);
  }
}
