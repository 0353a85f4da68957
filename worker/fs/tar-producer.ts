import { type LeasedChunk, leaseOnce } from '../leased-chunk.js';
import { Worker } from 'node:worker_threads';
import { CanceledError } from '../../proto/errors.js';
import {
  CONTROL_ABORT,
  CONTROL_CREDIT,
  type TarChunkMessage,
  type TarJob,
  type TarThreadData,
  type TarThreadError,
  type TarThreadMessage,
  type TarThreadRing,
  tarThreadScript,
} from './tar-thread.js';

export interface TarProducerOptions {
  /** Called with `sha256:<hex>` of the whole archive once it is complete. */
  readonly onDigest?: (digest: string) => void;
  /** Output chunk size (default 1 MiB). */
  readonly chunkBytes?: number;
  /** Chunks the thread may have made and the consumer not yet taken (default 4). */
  readonly credit?: number;
}

const DefaultChunkBytes = 1024 * 1024;
const DefaultCredit = 4;
const DefaultSlots = 16;

/**
 * Runs `job` on a tar producer thread (tar-thread.ts) and yields its output: chunks of about
 * `chunkBytes`, at most `credit` made ahead of the consumer, so memory stays bounded whatever the
 * tree. An abort, the consumer stopping early or a failure stops the thread at its next file or
 * chunk (closing what it has open) and waits for it to exit. Filesystem errors keep their code,
 * syscall and path; a thread that dies rejects.
 */
export function produceTar(
  job: TarJob,
  signal: AbortSignal,
  opts: TarProducerOptions = {},
): AsyncGenerator<Uint8Array> {
  return runTarThread(job, signal, opts, 0, (chunk) => chunk.bytes);
}

/**
 * As produceTar, but chunks are views into a ring of `slots` (default 16) shared buffers of
 * chunkBytes, which the thread reuses once released (it waits for a released slot, and for credit
 * as produceTar does): no buffer allocated per chunk. A chunk larger than a slot (a huge header)
 * comes in a buffer of its own, whose release does nothing. Releases may come in any order, but
 * the thread takes the slots in ring order: a chunk held while `slots - 1` more arrive stops it
 * until that chunk is released. A lease never released does not keep an abort or an early return
 * waiting.
 */
export function produceTarLeased(
  job: TarJob,
  signal: AbortSignal,
  opts: TarProducerOptions & { readonly slots?: number } = {},
): AsyncGenerator<LeasedChunk> {
  const slots = opts.slots ?? DefaultSlots;
  if (!Number.isInteger(slots) || slots < 1)
    throw new RangeError(`tar ring slots must be a positive integer: ${slots}`);
  return runTarThread(job, signal, opts, slots, (chunk) => chunk);
}

/**
 * The run behind both: the thread with a ring of `slots` (none: each chunk a buffer of its own,
 * transferred), its chunks yielded as `yielded` makes them.
 */
async function* runTarThread<T>(
  job: TarJob,
  signal: AbortSignal,
  opts: TarProducerOptions,
  slots: number,
  yielded: (chunk: LeasedChunk) => T,
): AsyncGenerator<T> {
  if (signal.aborted) throw cancelReason(signal.reason);
  const control = new Int32Array(new SharedArrayBuffer(8));
  control[CONTROL_CREDIT] = opts.credit ?? DefaultCredit;
  const chunkBytes = opts.chunkBytes ?? DefaultChunkBytes;
  const ring: TarThreadRing = {
    bytes: new SharedArrayBuffer(slots * chunkBytes),
    state: new Int32Array(new SharedArrayBuffer(slots * Int32Array.BYTES_PER_ELEMENT)),
  };
  const data: TarThreadData = { job, control, chunkBytes, hash: opts.onDigest !== undefined, ring };
  const worker = new Worker(tarThreadScript(), { eval: true, workerData: data });
  const queue: T[] = [];
  let ended = false;
  let failure: { err: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('message', (m: TarThreadMessage) => {
    if (m.t === 'chunk') queue.push(yielded(lease(m, ring, chunkBytes)));
    else if (m.t === 'end') {
      ended = true;
      if (m.digest !== undefined) opts.onDigest?.(m.digest);
    } else failure ??= { err: threadError(m.error) };
    notify();
  });
  worker.on('error', (err) => {
    failure ??= { err };
    notify();
  });
  worker.on('exit', (code) => {
    if (!ended)
      failure ??= { err: new Error(`tar producer thread exited (${code}) before the archive was complete`) };
    notify();
  });
  const stop = () => {
    Atomics.store(control, CONTROL_ABORT, 1);
    Atomics.notify(control, CONTROL_CREDIT);
    for (let slot = 0; slot < ring.state.length; slot++) Atomics.notify(ring.state, slot);
  };
  const onAbort = () => {
    stop();
    failure ??= { err: cancelReason(signal.reason) };
    notify();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      if (failure) throw failure.err;
      const chunk = queue.shift();
      if (chunk !== undefined) {
        yield chunk;
        Atomics.add(control, CONTROL_CREDIT, 1);
        Atomics.notify(control, CONTROL_CREDIT);
        continue;
      }
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (!ended) stop();
    // The thread closes its files on its way out; the message handlers hold nothing else.
    await exited;
  }
}

/** A chunk as the consumer gets it: a view of its ring slot, released by setting the slot free. */
function lease(m: TarChunkMessage, ring: TarThreadRing, chunkBytes: number): LeasedChunk {
  if (!('slot' in m)) return { bytes: new Uint8Array(m.buf, 0, m.len), release: () => {} };
  const { slot, len } = m;
  // Per lease, not per slot: a second release must not free the slot's next use.
  return leaseOnce(new Uint8Array(ring.bytes, slot * chunkBytes, len), () => {
    Atomics.store(ring.state, slot, 0);
    Atomics.notify(ring.state, slot);
  });
}

/** An abort's reason as an error (a reason need not be one). */
function cancelReason(reason: unknown): Error {
  return reason instanceof Error ? reason : new CanceledError(`tar canceled: ${String(reason)}`);
}

/** The thread's error as thrown on this side: a shrunk file, or fs's errno error with its fields. */
function threadError(e: TarThreadError): Error {
  const err: NodeJS.ErrnoException = new Error(e.message);
  if (e.code !== undefined) err.code = e.code;
  if (e.errno !== undefined) err.errno = e.errno;
  if (e.syscall !== undefined) err.syscall = e.syscall;
  if (e.path !== undefined) err.path = e.path;
  return err;
}
