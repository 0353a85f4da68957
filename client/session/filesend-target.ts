import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { decodeMessage } from '../../proto/codec.js';
import { toGrpcStatus } from '../../proto/errors.js';
import { packetStream } from '../../worker/fs/fsutil-packet.js';
import { receiveDiffCopy } from '../../worker/fs/fsutil-receive.js';
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
