import type { handleBidiStreamingCall, handleUnaryCall, ServerDuplexStream } from '@grpc/grpc-js';
import type { MessageStream } from '../../worker/fs/fsutil-packet.js';

/**
 * Something the client serves to the daemon over the session tunnel. Messages are raw bytes: each
 * handler decodes its own requests (FileSend's declared types lie, so one codec per service would not do).
 */
export type SessionMethod =
  | { readonly kind: 'unary'; readonly path: string; readonly handler: handleUnaryCall<Buffer, Buffer> }
  | {
      readonly kind: 'bidi';
      readonly path: string;
      readonly handler: handleBidiStreamingCall<Buffer, Buffer>;
    };

export interface SessionAttachable {
  readonly methods: readonly SessionMethod[];
}

/** A grpc-js server call as a message stream; leaving a read loop does not destroy the call. */
export function serverMessageStream(call: ServerDuplexStream<Buffer, Buffer>): MessageStream {
  return {
    send: (bytes) =>
      new Promise<void>((resolve, reject) => {
        if (call.destroyed || call.writableEnded) {
          reject(new Error('session call closed'));
          return;
        }
        const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        if (call.write(buf)) resolve();
        else {
          const done = () => {
            call.off('drain', done);
            call.off('close', done);
            resolve();
          };
          call.on('drain', done);
          call.on('close', done);
        }
      }),
    end: () => {
      if (!call.writableEnded && !call.destroyed) call.end();
    },
    [Symbol.asyncIterator]: () => call.iterator({ destroyOnReturn: false }) as AsyncIterator<Uint8Array>,
  };
}

/** An AbortSignal that fires when the daemon cancels the call. */
export function callSignal(
  call: { on(event: 'cancelled', fn: () => void): unknown },
  parent: AbortSignal,
): AbortSignal {
  const ac = new AbortController();
  call.on('cancelled', () => ac.abort(new Error('the daemon cancelled the call')));
  return AbortSignal.any([ac.signal, parent]);
}

/** The values of a single-valued metadata key. */
export function metadataValues(md: { get(key: string): (string | Buffer)[] }, key: string): string[] {
  return md
    .get(key)
    .map((v) => (typeof v === 'string' ? v : v.toString()))
    .filter((v) => v !== '');
}

/**
 * The values of a repeated metadata key. Node's http2 joins repeated header fields with ", " before
 * grpc-js sees them, so split them again (a pattern that itself contains ", " cannot survive this).
 */
export function metadataList(md: { get(key: string): (string | Buffer)[] }, key: string): string[] {
  return metadataValues(md, key)
    .flatMap((v) => v.split(', '))
    .filter((v) => v !== '');
}
