import { Worker } from 'node:worker_threads';
import type { BlobInfo } from './types.js';

/**
 * The ingest thread: hashes (sha256) and writes a blob's bytes into its temp file, then fsyncs it,
 * off the event loop. On the main thread hashing a 256 MiB layer cost ~0.25 s of CPU and its
 * writes ~0.1 s, serial with the gzip work feeding them. The main thread keeps the file handle,
 * verifies the digest the thread reports and renames; the thread only ever writes to the fd it
 * was given, and is stopped (terminated and waited for) before that fd is closed.
 *
 * Runs from source text (`eval`), so the same code works from dist/ and under vitest.
 */
const script = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const hash = require('node:crypto').createHash('sha256');
const fd = workerData.fd;
let size = 0;
let failed = false;
parentPort.on('message', (m) => {
  if (failed) return;
  try {
    if (m.t === 'chunk') {
      const b = new Uint8Array(m.buf, m.off, m.len);
      hash.update(b);
      let off = 0;
      while (off < b.byteLength) off += fs.writeSync(fd, b, off, b.byteLength - off);
      size += b.byteLength;
      parentPort.postMessage({ t: 'ack', len: m.len });
    } else if (m.t === 'end') {
      fs.fsyncSync(fd);
      parentPort.postMessage({ t: 'end', digest: 'sha256:' + hash.digest('hex'), size });
    }
  } catch (err) {
    failed = true;
    parentPort.postMessage({
      t: 'error',
      error: { message: String(err && err.message), code: err && err.code, errno: err && err.errno, syscall: err && err.syscall },
    });
  }
});
`;

type IngestMessage =
  | { readonly t: 'ack'; readonly len: number }
  | { readonly t: 'end'; readonly digest: string; readonly size: number }
  | {
      readonly t: 'error';
      readonly error: { message: string; code?: string; errno?: number; syscall?: string };
    };

/** Bytes posted to the thread and not yet written: bounds the memory a fast producer can queue. */
const MaxQueuedBytes = 8 * 1024 * 1024;

/** Chunks smaller than this are copied rather than transferred (they may be views of a shared pool). */
const MinTransferBytes = 64 * 1024;

/**
 * Writes `source` into the open file `fd` on an ingest thread, hashing it there; returns the sha256
 * and size of what was written, once written and fsynced. `check(size)` runs on the main thread for
 * every chunk (size so far) and may throw to stop early. Chunks of at least 64 KiB have their
 * ArrayBuffer transferred (the caller hands them over: nothing else may use that ArrayBuffer);
 * smaller ones are copied. The thread has stopped on every path before this returns or throws.
 */
export async function writeOnIngestThread(
  source: AsyncIterable<Uint8Array>,
  fd: number,
  check: (size: number) => void,
  signal: AbortSignal | undefined,
): Promise<BlobInfo> {
  const worker = new Worker(script, { eval: true, workerData: { fd } });
  let queued = 0;
  let result: BlobInfo | undefined;
  let failure: { err: unknown } | undefined;
  let exited = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const exit = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  worker.on('message', (m: IngestMessage) => {
    if (m.t === 'ack') queued -= m.len;
    else if (m.t === 'end') result = { digest: m.digest, size: m.size };
    else failure ??= { err: ingestError(m.error) };
    notify();
  });
  worker.on('error', (err) => {
    failure ??= { err };
    notify();
  });
  worker.on('exit', (code) => {
    if (!result)
      failure ??= { err: new Error(`content ingest thread exited (${code}) before the blob was written`) };
    notify();
  });
  const onAbort = () => {
    failure ??= { err: signal?.reason };
    notify();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const waitFor = async (done: () => boolean) => {
    while (!done()) {
      if (failure) throw failure.err;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    if (failure) throw failure.err;
  };
  try {
    signal?.throwIfAborted();
    let size = 0;
    // ArrayBuffers moved to the thread: a later view of one reads as empty (detached), and would
    // silently drop its bytes from the blob.
    const moved = new WeakSet<ArrayBufferLike>();
    for await (const chunk of source) {
      if (failure) throw failure.err;
      signal?.throwIfAborted();
      if (moved.has(chunk.buffer))
        throw new Error('content ingest: a chunk shares memory with one already handed over');
      const len = chunk.byteLength;
      size += len;
      check(size);
      if (len === 0) continue;
      if (len >= MinTransferBytes && transfer(worker, chunk)) {
        // Detached: moved, not cloned (Node's shared pool is cloned).
        if (chunk.buffer.byteLength === 0) moved.add(chunk.buffer);
      } else {
        const copy = new Uint8Array(chunk);
        worker.postMessage({ t: 'chunk', buf: copy.buffer, off: 0, len }, [copy.buffer]);
      }
      queued += len;
      if (queued > MaxQueuedBytes) await waitFor(() => queued <= MaxQueuedBytes);
    }
    worker.postMessage({ t: 'end' });
    await waitFor(() => result !== undefined);
    if (result?.size !== size)
      throw new Error(`content ingest thread wrote ${result?.size} of ${size} bytes`);
    return result;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!exited) await worker.terminate();
    await exit;
  }
}

/** Posts `chunk` by moving its ArrayBuffer; false (nothing posted) when that cannot be moved. */
function transfer(worker: Worker, chunk: Uint8Array): boolean {
  const buf = chunk.buffer;
  if (!(buf instanceof ArrayBuffer)) return false;
  try {
    worker.postMessage({ t: 'chunk', buf, off: chunk.byteOffset, len: chunk.byteLength }, [buf]);
  } catch {
    return false;
  }
  // An untransferable buffer (Node's pool) is cloned, not moved: the bytes were still sent.
  return true;
}

function ingestError(e: { message: string; code?: string; errno?: number; syscall?: string }): Error {
  const err: NodeJS.ErrnoException = new Error(e.message);
  if (e.code !== undefined) err.code = e.code;
  if (e.errno !== undefined) err.errno = e.errno;
  if (e.syscall !== undefined) err.syscall = e.syscall;
  return err;
}
