import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, KilnError, throwIfAborted } from '../../proto/errors.js';
import { BufferPool } from '../leased-chunk.js';
import { writeOnIngestThread } from './ingest-thread.js';
import type { BlobInfo, ContentStore } from './types.js';

/** A blob whose bytes do not match what the caller (a manifest, a descriptor) said they would be. */
export class ContentMismatchError extends KilnError {
  readonly expected: { digest?: string; size?: number };
  readonly got: BlobInfo;
  constructor(expected: { digest?: string; size?: number }, got: BlobInfo) {
    const what: string[] = [];
    if (expected.digest !== undefined && expected.digest !== got.digest)
      what.push(`digest: expected ${expected.digest}, got ${got.digest}`);
    if (expected.size !== undefined && expected.size !== got.size)
      what.push(`size: expected ${expected.size} bytes, got ${got.size}`);
    super('FAILED_PRECONDITION', `content verification failed: ${what.join('; ')}`);
    this.name = 'ContentMismatchError';
    this.expected = expected;
    this.got = got;
  }
}

const ReadChunkBytes = 1024 * 1024;
/** Handed-over blobs up to this size are written on the event loop, without the ingest thread. */
const InlineBlobBytes = 256 * 1024;

const digestPattern = /^sha256:([a-f0-9]{64})$/;

/** The hex part of a sha256 digest; anything else is refused (it would become a file name). */
export function digestHex(digest: string): string {
  const m = digestPattern.exec(digest);
  if (!m?.[1])
    throw new InvalidArgumentError(`invalid digest ${JSON.stringify(digest)}: want sha256:<64 hex>`);
  return m[1];
}

/**
 * Opens (creating) a content store under `root`: `<root>/blobs/sha256/<hex>`, temp files in
 * `<root>/ingest/`. Ingest files left by a crashed write are removed here: no writer can own them.
 */
export async function createContentStore(root: string): Promise<ContentStore> {
  const blobDir = path.join(root, 'blobs', 'sha256');
  const ingestDir = path.join(root, 'ingest');
  await mkdir(blobDir, { recursive: true });
  await rm(ingestDir, { recursive: true, force: true });
  await mkdir(ingestDir, { recursive: true });
  // digest → number of live leases
  const leases = new Map<string, number>();
  const blobPath = (digest: string) => path.join(blobDir, digestHex(digest));

  async function info(digest: string): Promise<BlobInfo | undefined> {
    try {
      const st = await stat(blobPath(digest));
      return { digest, size: st.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  return {
    info,
    async path(digest) {
      return (await info(digest)) ? blobPath(digest) : undefined;
    },
    read(digest, signal) {
      return readBlob(blobPath(digest), signal, (n) => Buffer.allocUnsafeSlow(n));
    },
    async *readLeased(digest, signal) {
      // Enough buffers for what a sender keeps in flight; more are allocated when none is free.
      const pool = new BufferPool(ReadChunkBytes, 16);
      for await (const chunk of readBlob(blobPath(digest), signal, (n) => pool.take(n)))
        yield pool.lease(chunk);
    },
    async write(source, expected, signal, options = {}) {
      throwIfAborted(signal);
      if (expected.digest !== undefined) {
        digestHex(expected.digest);
        const have = await info(expected.digest);
        if (have && (expected.size === undefined || have.size === expected.size)) {
          // Still drain nothing: the caller's stream is simply not consumed.
          return have;
        }
      }
      const tmp = path.join(ingestDir, `${Date.now()}-${randomBytes(8).toString('hex')}`);
      const fh = await open(tmp, 'wx', 0o644);
      let renamed = false;
      try {
        // A small blob (a config, a layer of a few files) is written here: a thread costs ~25 ms
        // to start, more than the blob. What was read to find out goes on either way.
        const peeked = options.handOver ? await peek(source, InlineBlobBytes) : undefined;
        if (peeked && !peeked.complete) {
          const got = await writeOnIngestThread(
            peeked.all,
            fh.fd,
            (size) => {
              if (expected.size !== undefined && size > expected.size)
                throw new ContentMismatchError(expected, { digest: 'sha256:(incomplete)', size });
            },
            signal,
          );
          if (
            (expected.digest !== undefined && expected.digest !== got.digest) ||
            (expected.size !== undefined && expected.size !== got.size)
          ) {
            throw new ContentMismatchError(expected, got);
          }
          // Written and fsynced by the thread.
          await fh.close();
          await rename(tmp, blobPath(got.digest));
          renamed = true;
          return got;
        }
        const hash = createHash('sha256');
        let size = 0;
        for await (const chunk of peeked?.all ?? source) {
          throwIfAborted(signal);
          hash.update(chunk);
          size += chunk.byteLength;
          if (expected.size !== undefined && size > expected.size) {
            throw new ContentMismatchError(expected, { digest: 'sha256:(incomplete)', size });
          }
          let off = 0;
          while (off < chunk.byteLength) {
            const { bytesWritten } = await fh.write(chunk, off, chunk.byteLength - off);
            off += bytesWritten;
          }
        }
        const got: BlobInfo = { digest: `sha256:${hash.digest('hex')}`, size };
        if (
          (expected.digest !== undefined && expected.digest !== got.digest) ||
          (expected.size !== undefined && expected.size !== got.size)
        ) {
          throw new ContentMismatchError(expected, got);
        }
        await fh.sync();
        await fh.close();
        await rename(tmp, blobPath(got.digest));
        renamed = true;
        return got;
      } finally {
        await fh.close().catch(() => undefined);
        if (!renamed) await unlink(tmp).catch(() => undefined);
      }
    },
    lease(digests) {
      const held = [...digests];
      for (const d of held) leases.set(d, (leases.get(d) ?? 0) + 1);
      let released = false;
      return {
        async [Symbol.asyncDispose]() {
          if (released) return;
          released = true;
          for (const d of held) {
            const n = (leases.get(d) ?? 1) - 1;
            if (n <= 0) leases.delete(d);
            else leases.set(d, n);
          }
        },
      };
    },
    async deleteUnreferenced(keep, signal) {
      const removed: BlobInfo[] = [];
      for (const name of await readdir(blobDir)) {
        throwIfAborted(signal);
        const digest = `sha256:${name}`;
        if (!digestPattern.test(digest) || keep.has(digest) || leases.has(digest)) continue;
        const p = path.join(blobDir, name);
        try {
          const st = await stat(p);
          await unlink(p);
          removed.push({ digest, size: st.size });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      return removed;
    },
  };
}

/**
 * Reads of up to 1 MiB sized by what is left (a read stream reads 64 KiB at a time and allocates
 * its full read size even for a 300-byte config), into buffers from `take`: layer blobs of hundreds
 * of MiB are read whole to be sent on. One read runs ahead: the next chunk comes off the file while
 * the consumer sends this one.
 */
async function* readBlob(
  file: string,
  signal: AbortSignal,
  take: (n: number) => Buffer,
): AsyncGenerator<Buffer> {
  throwIfAborted(signal);
  const fh = await open(file, 'r');
  let pending: Promise<Buffer> | undefined;
  try {
    let left = (await fh.stat()).size;
    const readNext = async (): Promise<Buffer> => {
      const buf = take(Math.max(1, Math.min(ReadChunkBytes, left)));
      const { bytesRead } = await fh.read(buf, 0, buf.byteLength, null);
      left -= bytesRead;
      return bytesRead === buf.byteLength ? buf : buf.subarray(0, bytesRead);
    };
    // The read ahead runs while the consumer holds the generator paused at `yield`: a failure
    // there is handled (rethrown) when awaited, never left an unhandled rejection meanwhile.
    const readAhead = (): Promise<Buffer> => {
      const p = readNext();
      p.catch(() => undefined);
      return p;
    };
    pending = readAhead();
    for (;;) {
      throwIfAborted(signal);
      const chunk = await pending;
      pending = undefined;
      if (chunk.byteLength === 0) return;
      pending = readAhead();
      yield chunk;
    }
  } finally {
    // A read still running must not outlive the handle.
    if (pending) await pending.catch(() => undefined);
    await fh.close();
  }
}

/**
 * Reads `source` until it ends or `limit` bytes came: `complete` when it ended, and `all`, the
 * whole stream again (what was read, then the rest).
 */
async function peek(
  source: AsyncIterable<Uint8Array>,
  limit: number,
): Promise<{ complete: boolean; all: AsyncIterable<Uint8Array> }> {
  const it = source[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let bytes = 0;
  while (bytes < limit) {
    const r = await it.next();
    if (r.done) return { complete: true, all: toAsync(head) };
    head.push(r.value);
    bytes += r.value.byteLength;
  }
  return {
    complete: false,
    all: (async function* () {
      let done = false;
      try {
        yield* head;
        for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
        done = true;
      } finally {
        // A consumer that stops early closes the source too, as for-await over it would.
        if (!done) await it.return?.();
      }
    })(),
  };
}

async function* toAsync(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}
