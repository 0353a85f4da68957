import { constants, crc32, createDeflateRaw, deflateRawSync } from 'node:zlib';
import os from 'node:os';

export interface ParallelGzipOptions {
  /** zlib level 0-9. */
  readonly level: number;
  /** Uncompressed bytes per independently compressed block (default 1 MiB). */
  readonly blockSize?: number;
  /** Blocks compressed at once on the libuv pool (default: the CPU count, at least 2). */
  readonly concurrency?: number;
  /**
   * Store blocks that a sample shows to be incompressible instead of searching them for matches
   * (default true). Off: every block at `level`, as plain zlib would.
   */
  readonly skipIncompressible?: boolean;
}

/**
 * zlib's output buffer size. Part of the output format: a stored block never spans two output
 * buffers, so changing it changes the bytes of level-0 blocks (and blob digests).
 */
const OutputChunkBytes = 256 * 1024;

/** The deflate window: each block may refer this far back into the previous one. */
const WINDOW = 32 * 1024;

/**
 * Incompressible-block test: SAMPLES slices of SAMPLE_BYTES spread over the block, deflated at
 * level 1; when that saves less than 2 %, the block is stored (deflate level 0: a copy).
 */
const SAMPLES = 4;
const SAMPLE_BYTES = 8 * 1024;
const STORE_RATIO = 0.98;

/** Fixed gzip header: no name, mtime 0, OS unix: the bytes depend on the input alone. */
const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03]);

/**
 * gzip of `source` in one member, compressed block by block in parallel (as pigz does): every block
 * is a raw deflate primed with the previous block's last 32 KiB as dictionary and ended by a sync
 * flush (the last one by a finish), so the concatenation is one valid deflate stream and compresses
 * about as well as a single stream. A single zlib stream is one thread; large layers were bound by it.
 * Blocks a level-1 sample cannot shrink (already-compressed files, random bytes) are stored rather
 * than compressed: zlib spends as long searching such data for matches as it does on text, for no
 * gain (klauspost/compress and zstd skip incompressible input the same way). Deterministic for a
 * given level and block size: whether a block is stored depends on its bytes alone.
 */
export async function* parallelGzip(
  source: AsyncIterable<Uint8Array>,
  opts: ParallelGzipOptions,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  signal.throwIfAborted();
  const blockSize = Math.max(WINDOW, opts.blockSize ?? 1024 * 1024);
  const limit = Math.max(1, opts.concurrency ?? Math.max(2, os.availableParallelism()));
  const skip = opts.skipIncompressible ?? true;
  const inflight: Promise<Buffer[]>[] = [];
  let crc = 0;
  let total = 0;
  let previous: Buffer | undefined;
  // Input not yet made into a block; a block is cut only once more input follows it, so the last
  // block (the one that finishes the stream) is known when the source ends.
  let pending: Buffer[] = [];
  let pendingBytes = 0;

  const dispatch = (block: Buffer, last: boolean): void => {
    crc = crc32(block, crc);
    total += block.byteLength;
    inflight.push(compressBlock(block, previous, opts.level, last, skip));
    previous = block;
  };
  // Settled failures of blocks not awaited yet must not surface as unhandled rejections.
  const settleAll = async () => {
    await Promise.allSettled(inflight);
  };

  try {
    yield HEADER;
    for await (const chunk of source) {
      signal.throwIfAborted();
      if (chunk.byteLength === 0) continue;
      pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      pendingBytes += chunk.byteLength;
      while (pendingBytes > blockSize) {
        dispatch(takeBlock(pending, blockSize), false);
        pendingBytes -= blockSize;
        while (inflight.length >= limit) yield* await (inflight.shift() as Promise<Buffer[]>);
      }
    }
    dispatch(pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes), true);
    pending = [];
    while (inflight.length > 0) yield* await (inflight.shift() as Promise<Buffer[]>);
    signal.throwIfAborted();
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE(total % 2 ** 32, 4);
    yield trailer;
  } finally {
    await settleAll();
  }
}

/**
 * Removes the first `size` bytes from `parts` (which hold more) and returns them: a view when the
 * first part holds them all (input chunks of the block size are never copied), else one copy of
 * just those bytes.
 */
function takeBlock(parts: Buffer[], size: number): Buffer {
  const first = parts[0] as Buffer;
  if (first.byteLength >= size) {
    if (first.byteLength === size) parts.shift();
    else parts[0] = first.subarray(size);
    return first.subarray(0, size);
  }
  const block = Buffer.allocUnsafeSlow(size);
  let off = 0;
  while (off < size) {
    const part = parts[0] as Buffer;
    const n = Math.min(part.byteLength, size - off);
    part.copy(block, off, 0, n);
    off += n;
    if (n === part.byteLength) parts.shift();
    else parts[0] = part.subarray(n);
  }
  return block;
}

async function compressBlock(
  block: Buffer,
  previous: Buffer | undefined,
  level: number,
  last: boolean,
  skipIncompressible: boolean,
): Promise<Buffer[]> {
  const store = level > 0 && skipIncompressible && incompressible(block);
  return deflateBlock(block, previous, store ? 0 : level, last);
}

/**
 * Whether a level-1 deflate of slices spread over `block` saves less than 1 - STORE_RATIO. On the
 * event loop: 32 KiB at level 1 costs less there than the thread-pool round trip it would take.
 */
function incompressible(block: Buffer): boolean {
  if (block.byteLength < SAMPLES * SAMPLE_BYTES * 2) return false;
  const stride = Math.floor((block.byteLength - SAMPLE_BYTES) / (SAMPLES - 1));
  const sample = Buffer.allocUnsafe(SAMPLES * SAMPLE_BYTES);
  for (let i = 0; i < SAMPLES; i++)
    block.copy(sample, i * SAMPLE_BYTES, i * stride, i * stride + SAMPLE_BYTES);
  const out = deflateRawSync(sample, { level: 1, chunkSize: OutputChunkBytes });
  return out.byteLength >= sample.byteLength * STORE_RATIO;
}

/**
 * Raw deflate of one block, as zlib's output pieces (of `chunkSize` bytes but the last): passed on
 * as they are rather than joined. No two pieces share memory (a full output buffer is replaced,
 * never refilled), so the consumer may keep them or hand them over.
 */
function deflateBlock(
  block: Buffer,
  previous: Buffer | undefined,
  level: number,
  last: boolean,
): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const z = createDeflateRaw({
      level,
      ...(previous === undefined
        ? {}
        : { dictionary: previous.subarray(Math.max(0, previous.length - WINDOW)) }),
      finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
      chunkSize: OutputChunkBytes,
    });
    const out: Buffer[] = [];
    z.on('data', (b: Buffer) => out.push(b));
    // Pieces of one write that did not fill zlib's buffer share it with what a later write (the
    // final flush) puts after them: those are copied, so every piece has its memory to itself.
    z.once('end', () =>
      resolve(out.map((b, i) => (i > 0 && b.buffer === out[i - 1]?.buffer ? Buffer.from(b) : b))),
    );
    z.once('error', reject);
    z.end(block);
  });
}
