import { Duplex } from 'node:stream';

/**
 * The session tunnel: a gRPC bidi stream of BytesMessage turned into a byte pipe (BuildKit's
 * grpchijack.streamToConn). Each write becomes one message; each received message is a chunk.
 * Used by the daemon (over the Control.Session server call) and by the client (over its client call).
 */

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
    try {
      // Copy: http2 reuses its buffers, and grpc-js may serialize later.
      if (this.call.write({ data: Buffer.from(chunk) })) cb();
      else this.call.once('drain', () => cb());
    } catch (err) {
      cb(err as Error);
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    try {
      this.call.end();
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    try {
      if (!this.writableFinished) this.call.end();
    } catch {
      // Already closed.
    }
    cb(err);
  }
}
