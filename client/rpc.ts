import * as grpc from '@grpc/grpc-js';

/** The callback-style unary method shape grpc-js generates, with metadata and call options. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: grpc.requestCallback<Res>,
) => grpc.ClientUnaryCall;

export interface CallOptions {
  readonly metadata?: grpc.Metadata;
  readonly signal?: AbortSignal;
  readonly deadline?: Date;
}

/** Runs one unary call as a promise; aborting the signal cancels the call on the wire. */
export function unaryCall<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  opts: CallOptions = {},
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(abortReason(opts.signal));
      return;
    }
    const callOptions: grpc.CallOptions = opts.deadline === undefined ? {} : { deadline: opts.deadline };
    const call = method(request, opts.metadata ?? new grpc.Metadata(), callOptions, (err, res) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else if (res === undefined) reject(new Error('empty response'));
      else resolve(res);
    });
    function onAbort() {
      call.cancel();
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Reads a server stream to its end, handing each message to `onMessage`. Resolves on a clean end,
 * rejects with the call's error; aborting the signal cancels the call.
 */
export function readServerStream<T>(
  stream: grpc.ClientReadableStream<T>,
  onMessage: (message: T) => void,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    function onAbort() {
      stream.cancel();
    }
    if (signal?.aborted) stream.cancel();
    else signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (m: T) => {
      try {
        onMessage(m);
      } catch (err) {
        stream.cancel();
        finish(err);
      }
    });
    stream.on('error', (err: grpc.ServiceError) => finish(err));
    stream.on('end', () => finish());
  });
}

export function isServiceError(err: unknown): err is grpc.ServiceError {
  return (
    err instanceof Error && typeof (err as Partial<grpc.ServiceError>).code === 'number' && 'metadata' in err
  );
}

function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error(`aborted: ${String(r)}`);
}
