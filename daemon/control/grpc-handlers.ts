import type * as grpc from '@grpc/grpc-js';
import { toServiceError } from './error-status.js';

/**
 * Typed adapters between grpc-js' callback/stream handlers and Kiln's async functions: one place
 * that gives each call an AbortSignal, maps errors to gRPC statuses, and honours backpressure.
 */

export type Logger = (msg: string) => void;

function callSignal(call: NodeJS.EventEmitter): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const onCancel = () => ac.abort(new Error('the client canceled the call'));
  call.on('cancelled', onCancel);
  return { signal: ac.signal, dispose: () => call.off('cancelled', onCancel) };
}

export function unary<Req, Res>(
  log: Logger,
  name: string,
  fn: (req: Req, signal: AbortSignal, metadata: grpc.Metadata) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const { signal, dispose } = callSignal(call);
    fn(call.request, signal, call.metadata).then(
      (res) => {
        dispose();
        callback(null, res);
      },
      (err: unknown) => {
        dispose();
        const status = toServiceError(err);
        log(`${name}: ${status.details}`);
        callback(status as grpc.ServiceError);
      },
    );
  };
}

/** Writes with backpressure: resolves when the stream can take more. */
export function writeWithBackpressure<T>(
  call: grpc.ServerWritableStream<unknown, T>,
  message: T,
  signal: AbortSignal,
): Promise<void> {
  if (call.write(message)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = () => {
      call.off('drain', onDrain);
      reject(signal.reason);
    };
    call.once('drain', onDrain);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function serverStream<Req, Res>(
  log: Logger,
  name: string,
  fn: (
    req: Req,
    write: (m: Res) => Promise<void>,
    signal: AbortSignal,
    metadata: grpc.Metadata,
  ) => Promise<void>,
): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    const { signal, dispose } = callSignal(call);
    const write = (m: Res) => writeWithBackpressure(call, m, signal);
    fn(call.request, write, signal, call.metadata).then(
      () => {
        dispose();
        call.end();
      },
      (err: unknown) => {
        dispose();
        if (signal.aborted) return;
        const status = toServiceError(err);
        log(`${name}: ${status.details}`);
        call.emit('error', status);
      },
    );
  };
}

export function unimplemented<Req, Res>(name: string): grpc.handleUnaryCall<Req, Res> {
  return (_call, callback) => {
    callback({ code: 12, details: `${name} is not implemented by kilnd` } as grpc.ServiceError);
  };
}
