/**
 * Chunks whose memory the producer reuses: a sender that would otherwise get a fresh buffer per
 * chunk (and make V8 collect garbage every few dozen MiB of a large transfer) hands each back once
 * its bytes are written.
 */

/** A chunk in memory the producer reuses: call release() once nothing refers to `bytes` any more (sent, or dropped). Releasing twice is harmless. */
export interface LeasedChunk {
  readonly bytes: Uint8Array;
  release(): void;
}

/**
 * `bytes` leased until release() runs `release`, once: a second call must not give back memory
 * that has been leased again since.
 */
export function leaseOnce(bytes: Uint8Array, release: () => void): LeasedChunk {
  let held = true;
  return {
    bytes,
    release: () => {
      if (!held) return;
      held = false;
      release();
    },
  };
}

/** The bytes of a plain or leased chunk. */
export function chunkBytes(chunk: Uint8Array | LeasedChunk): Uint8Array {
  return chunk instanceof Uint8Array ? chunk : chunk.bytes;
}

/** Releases a leased chunk; a plain one has nothing to release. */
export function releaseChunk(chunk: Uint8Array | LeasedChunk): void {
  if (!(chunk instanceof Uint8Array)) chunk.release();
}

/**
 * Buffers of `size` bytes kept for reuse, at most `keep` of them. take() never waits: with none
 * free it allocates (what bounds memory is the consumer's backpressure, not the pool).
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  /** A buffer of `n` bytes: a pooled one when `n` is the pool's size. Uninitialized memory. */
  take(n: number): Buffer {
    if (n === this.size) return this.free.pop() ?? Buffer.allocUnsafeSlow(n);
    return Buffer.allocUnsafeSlow(n);
  }

  /** `bytes` (a view of a buffer from take()) as a lease that puts the buffer back once released. */
  lease(bytes: Buffer): LeasedChunk {
    return leaseOnce(bytes, () => {
      const whole = Buffer.from(bytes.buffer, 0, bytes.buffer.byteLength);
      if (whole.byteLength === this.size && this.free.length < this.keep) this.free.push(whole);
    });
  }
}
