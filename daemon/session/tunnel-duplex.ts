import { Duplex } from 'node:stream';

/**
 * The session tunnel: a gRPC bidi stream of BytesMessage turned into a byte pipe (BuildKit's
 * grpchijack.streamToConn). Each received message is a chunk. Writes made in the same event-loop
 * turn (HTTP/2 emits one small write per frame) are coalesced into one message of at most
 * MAX_MESSAGE bytes: a message per tiny frame made many-small-file transfers overhead-bound.
 * Used by the daemon (over the Control.Session server call) and by the client (over its client call).
 */

/** Well under the 4 MiB default receive limit of grpc-go and grpc-js. */
const MAX_MESSAGE = 1024 * 1024;

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

export class TunnelDuplex extends Duplex {
  private readonly call: BytesMessageCall;
  private ended = false;
  /** The message being gathered: chunks are copied in as they come (http2 reuses its buffers once the write callback ran). */
  private batch: Buffer | undefined;
  private batchLen = 0;
  /** Size of the last message sent: the next batch starts with room for as much. */
  private lastLen = 0;
  private flushScheduled = false;
  /** Write callbacks held back while the outer call applies backpressure. */
  private waiting: ((err?: Error | null) => void)[] = [];
  private blocked = false;

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
  }

  private finishRead(): void {
    if (this.ended) return;
    this.ended = true;
    this.push(null);
  }

  override _read(): void {
    this.call.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.enqueue(chunk, cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    for (let i = 0; i < chunks.length - 1; i++) this.enqueue(chunks[i]!.chunk, undefined);
    this.enqueue(chunks[chunks.length - 1]!.chunk, cb);
  }

  private enqueue(chunk: Buffer, cb: ((err?: Error | null) => void) | undefined): void {
    if (this.batchLen > 0 && this.batchLen + chunk.byteLength > MAX_MESSAGE) this.flush();
    if (chunk.byteLength >= MAX_MESSAGE) {
      this.append(chunk);
      this.flush();
    } else {
      this.append(chunk);
      if (this.batchLen >= MAX_MESSAGE) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          this.flush();
        });
      }
    }
    if (!cb) return;
    if (this.blocked) this.waiting.push(cb);
    else cb();
  }

  /** Copies a chunk into the batch, growing it when needed (one copy per byte, not one per chunk and one per message). */
  private append(chunk: Buffer): void {
    const need = this.batchLen + chunk.byteLength;
    if (this.batch === undefined || this.batch.byteLength < need) {
      const size = Math.max(
        need,
        Math.min(MAX_MESSAGE, Math.max(64 * 1024, this.lastLen, 2 * (this.batch?.byteLength ?? 0))),
      );
      const grown = Buffer.allocUnsafeSlow(size);
      if (this.batch !== undefined && this.batchLen > 0) this.batch.copy(grown, 0, 0, this.batchLen);
      this.batch = grown;
    }
    chunk.copy(this.batch, this.batchLen);
    this.batchLen = need;
  }

  private flush(): void {
    if (this.batchLen === 0 || this.batch === undefined) return;
    const data = this.batch.subarray(0, this.batchLen);
    this.lastLen = this.batchLen;
    // A new batch each time: the call may still hold this one.
    this.batch = undefined;
    this.batchLen = 0;
    if (this.destroyed) return; // Torn down before the turn ended: the peer is gone.
    let ok = true;
    try {
      ok = this.call.write({ data });
    } catch (err) {
      this.releaseWaiting(err as Error);
      return;
    }
    if (!ok && !this.blocked) {
      this.blocked = true;
      this.call.once('drain', () => {
        this.blocked = false;
        this.releaseWaiting(null);
      });
    }
  }

  private releaseWaiting(err: Error | null): void {
    for (const cb of this.waiting.splice(0)) cb(err);
  }

  override _final(cb: (err?: Error | null) => void): void {
    try {
      this.flush();
      this.call.end();
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.releaseWaiting(err ?? new Error('tunnel closed'));
    try {
      if (!this.writableFinished) this.call.end();
    } catch {
      // Already closed.
    }
    cb(err);
  }
}
