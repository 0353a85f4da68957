import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { decodeMessage } from '../../proto/codec.js';
import { toGrpcStatus } from '../../proto/errors.js';
import { packetStream } from '../../worker/fs/fsutil-packet.js';
import { receiveDiffCopy } from '../../worker/fs/fsutil-receive.js';
import { BytesMessageDecoder, serverCallStream } from '../../proto/grpc-raw-stream.js';
import { callSignal, type SessionAttachable, serverMessageStream } from './attachable.js';

/** FileSend.DiffCopy: where exported results land on the client (BuildKit fsSyncTarget). */

const PATH = '/moby.filesync.v1.FileSend/DiffCopy';

const FileWriteBuffer = 8 * 1024 * 1024;

export type FileSendTarget =
  /** Local exporter: fsutil packets merged into a directory, owned by the current user. */
  | { readonly kind: 'dir'; readonly dir: string; readonly onProgress?: (bytes: number) => void }
  /** tar/oci/docker exporters: raw bytes into a file, or stdout when `path` is '-' or empty. */
  | {
      readonly kind: 'file';
      readonly path: string;
      readonly onMetadata?: (md: Readonly<Record<string, string>>) => void;
    }
  /** As 'file', but into a caller-supplied writer. */
  | {
      readonly kind: 'writer';
      readonly open: (md: Readonly<Record<string, string>>) => NodeJS.WritableStream;
    };

function fail(call: ServerDuplexStream<Buffer, Buffer>, err: unknown): void {
  const st = toGrpcStatus(err);
  call.emit('error', { code: st.code, details: st.details });
}

function exporterMetadata(call: ServerDuplexStream<Buffer, Buffer>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(call.metadata.getMap())) {
    if (k.startsWith('exporter-md-'))
      out[k.slice('exporter-md-'.length)] = typeof v === 'string' ? v : v.toString();
  }
  return out;
}

export function fileSendTarget(target: FileSendTarget, signal: AbortSignal): SessionAttachable {
  const handler = (call: ServerDuplexStream<Buffer, Buffer>) => {
    const sig = callSignal(call, signal);
    if (target.kind === 'dir') {
      const dirOpts = target.onProgress ? { onProgress: target.onProgress } : {};
      mkdir(target.dir, { recursive: true })
        .then(() =>
          receiveDiffCopy(
            packetStream(serverMessageStream(call)),
            target.dir,
            { ...dirOpts, merge: true, ownership: 'none', differ: 'none' },
            sig,
          ),
        )
        .catch((err: unknown) => fail(call, err));
      return;
    }
    const md = exporterMetadata(call);
    let out: NodeJS.WritableStream;
    let closeOut: () => Promise<void>;
    if (target.kind === 'writer') {
      out = target.open(md);
      closeOut = async () => {};
    } else {
      target.onMetadata?.(md);
      if (target.path === '' || target.path === '-') {
        out = process.stdout;
        closeOut = async () => {};
      } else {
        // A wide buffer (default 16 KiB, less than one message): the loop below waited for every
        // message to reach the file before taking the next, and the queued ones go out in one writev.
        const ws: WriteStream = createWriteStream(target.path, { highWaterMark: FileWriteBuffer });
        out = ws;
        closeOut = () =>
          new Promise<void>((resolve, reject) => {
            ws.end((err?: Error | null) => (err ? reject(err) : resolve()));
          });
      }
    }
    if (streamPayloads(call, out, closeOut, sig)) return;
    void (async () => {
      try {
        for await (const raw of call.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
          const { data } = decodeMessage<{ data: Uint8Array }>('moby.filesync.v1.BytesMessage', raw);
          if (data.byteLength === 0) continue;
          if (!out.write(data)) await new Promise<void>((r) => out.once('drain', () => r()));
          if (sig.aborted) throw sig.reason;
        }
        await closeOut();
        call.end();
      } catch (err) {
        await closeOut().catch(() => {});
        fail(call, err);
      }
    })();
  };
  return { methods: [{ kind: 'bidi', path: PATH, handler }] };
}

/**
 * Writes the payloads of the call's BytesMessages to `out` as they come off the HTTP/2 stream under
 * the call, in place of grpc-js, which assembled every message (a copy of the whole archive) and
 * paused the stream after each. False, with nothing done, when that stream cannot be taken over
 * (see serverCallStream; grpc-js must not have read from it yet): read through grpc-js then.
 */
function streamPayloads(
  call: ServerDuplexStream<Buffer, Buffer>,
  out: NodeJS.WritableStream,
  closeOut: () => Promise<void>,
  sig: AbortSignal,
): boolean {
  const raw = serverCallStream(call);
  const grpcListeners = raw?.listeners('data') ?? [];
  if (raw === undefined || grpcListeners.length !== 1 || raw.readableEnded || raw.destroyed) return false;
  let done = false;
  const finish = (err: unknown) => {
    if (done) return;
    done = true;
    raw.off('data', onData);
    sig.removeEventListener('abort', onAbort);
    // `out` may outlive this export (stdout, a caller's writer): leave no listener on it.
    out.removeListener('drain', drained);
    out.removeListener('error', onOutError);
    if (err === undefined) {
      void closeOut().then(
        () => call.end(),
        (e: unknown) => fail(call, e),
      );
    } else {
      raw.pause();
      void closeOut().then(
        () => fail(call, err),
        () => fail(call, err),
      );
    }
  };
  let waiting = false;
  const drained = () => {
    waiting = false;
    if (!done) raw.resume();
  };
  // Views of the received chunks: http2 hands every read a new buffer, so the writer may keep them.
  const decoder = new BytesMessageDecoder((payload) => {
    if (out.write(payload) || waiting) return;
    waiting = true;
    raw.pause();
    out.once('drain', drained);
  });
  const onData = (chunk: Buffer) => {
    if (done) return;
    try {
      decoder.write(chunk);
    } catch (err) {
      finish(err);
    }
  };
  const onAbort = () => finish(sig.reason);
  const onOutError = (err: unknown) => finish(err);
  raw.off('data', grpcListeners[0] as (chunk: Buffer) => void);
  raw.on('data', onData);
  raw.once('end', () =>
    finish(decoder.partial ? new Error('the exported stream ended inside a message') : undefined),
  );
  // Cut off (RST_STREAM, connection gone) before the end: the output is incomplete.
  raw.once('close', () => finish(new Error('the exported stream was cut off')));
  out.once('error', onOutError);
  if (sig.aborted) onAbort();
  else sig.addEventListener('abort', onAbort, { once: true });
  raw.resume();
  return true;
}

/** A client that takes no output still answers, so the daemon reports a clear error (BuildKit: AlreadyExists). */
export function noFileSendTarget(): SessionAttachable {
  return {
    methods: [
      {
        kind: 'bidi',
        path: PATH,
        handler: (call) =>
          call.emit('error', { code: GrpcStatus.ALREADY_EXISTS, details: 'no output target configured' }),
      },
    ],
  };
}
