import { Worker } from 'node:worker_threads';
import { CanceledError } from '../../proto/errors.js';
import {
  CONTROL_ABORT,
  CONTROL_CREDIT,
  type TarJob,
  type TarThreadData,
  type TarThreadError,
  type TarThreadMessage,
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

/**
 * Runs `job` on a tar producer thread (tar-thread.ts) and yields its output: chunks of about
 * `chunkBytes`, at most `credit` made ahead of the consumer, so memory stays bounded whatever the
 * tree. An abort, the consumer stopping early or a failure stops the thread at its next file or
 * chunk (closing what it has open) and waits for it to exit. Filesystem errors keep their code,
 * syscall and path; a thread that dies rejects.
 */
export async function* produceTar(
  job: TarJob,
  signal: AbortSignal,
  opts: TarProducerOptions = {},
): AsyncGenerator<Uint8Array> {
  if (signal.aborted) throw cancelReason(signal.reason);
  const control = new Int32Array(new SharedArrayBuffer(8));
  control[CONTROL_CREDIT] = opts.credit ?? DefaultCredit;
  const data: TarThreadData = {
    job,
    control,
    chunkBytes: opts.chunkBytes ?? DefaultChunkBytes,
    hash: opts.onDigest !== undefined,
  };
  const worker = new Worker(tarThreadScript(), { eval: true, workerData: data });
  const queue: Uint8Array[] = [];
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
    if (m.t === 'chunk') queue.push(new Uint8Array(m.buf, 0, m.len));
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
      if (chunk) {
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
