import { type MessageStream, packetStream } from '../../worker/fs/fsutil-packet.js';
import { type ReceiveDigests, type ReceiveResult, receiveDiffCopy } from '../../worker/fs/fsutil-receive.js';
import { type FrameChannel, type FrameListener, sendDiffCopyFrames } from '../../worker/fs/fsutil-send.js';
import { FailedPreconditionError } from './errors.js';
import { bytesMessagePrefix } from '../../proto/grpc-raw-stream.js';
import { encodeMetadataValues } from '../../proto/header-encoding.js';
import type { Session } from './session.js';
import type { SessionStreamCall } from './tunnel-client.js';
import { chunkBytes, type LeasedChunk, releaseChunk } from '../../worker/leased-chunk.js';

/** File transfers over a session (BuildKit session/filesync/filesync.go), daemon side. */

export const FileSyncMethods = {
  syncDiffCopy: '/moby.filesync.v1.FileSync/DiffCopy',
  sendDiffCopy: '/moby.filesync.v1.FileSend/DiffCopy',
} as const;

export const FileSyncMetadataKeys = {
  dirName: 'dir-name',
  includePatterns: 'include-patterns',
  excludePatterns: 'exclude-patterns',
  followPaths: 'followpaths',
  overrideExcludes: 'override-excludes',
} as const;

export interface FetchLocalDirOptions {
  /** The `local://<name>` name; the client maps it to a directory. */
  readonly name: string;
  readonly dest: string;
  readonly includePatterns?: readonly string[];
  readonly excludePatterns?: readonly string[];
  readonly followPaths?: readonly string[];
  readonly onProgress?: (bytes: number) => void;
  /** Content digests of the files as they are written (see ReceiveOptions.digests). */
  readonly digests?: ReceiveDigests;
}

/**
 * At most one progress report per interval (BuildKit's transfer progress uses a 100 ms rate
 * limiter): a report per 32 KiB chunk sent thousands of status updates over the session's
 * connection, competing with the transfer itself. Callers report the final figure themselves.
 */
const PROGRESS_INTERVAL_MS = 100;

export interface ThrottledProgress {
  /** For the transfer options: empty when nobody listens. */
  readonly opts: { onProgress?: (bytes: number) => void };
  /** Reports the last figure if the throttle held it back. */
  flush(): void;
}

export function throttleProgress(
  onProgress: ((bytes: number) => void) | undefined,
  intervalMs = PROGRESS_INTERVAL_MS,
): ThrottledProgress {
  if (!onProgress) return { opts: {}, flush: () => {} };
  let last = -Infinity;
  let held: number | undefined;
  return {
    opts: {
      onProgress: (bytes) => {
        const now = performance.now();
        if (now - last < intervalMs) {
          held = bytes;
          return;
        }
        last = now;
        held = undefined;
        onProgress(bytes);
      },
    },
    flush: () => {
      if (held === undefined) return;
      onProgress(held);
      held = undefined;
    },
  };
}

/** Adapts a session call to the message stream the fsutil code speaks, ending the call on every path. */
function messageStream(call: SessionStreamCall): MessageStream {
  return {
    send: (b) => call.send(b),
    sendFramed: (f) => call.sendFramed(f),
    end: () => call.end(),
    nextBatch: () => call.nextBatch(),
    [Symbol.asyncIterator]: () => call[Symbol.asyncIterator](),
  };
}

/**
 * A session call as the fsutil sender's FrameChannel: its batches of framed packets go to the
 * HTTP/2 stream as they are (the sender reuses a batch's buffer once its bytes are written), and
 * received packets to the listener a batch at a time.
 */
function frameChannel(call: SessionStreamCall): FrameChannel {
  let listening = true;
  return {
    write: (frames, done) => call.writeFrames(frames, done),
    drain: () => call.waitWritable(),
    end: () => call.end(),
    listen: (listener: FrameListener) => {
      void (async () => {
        try {
          for (let b = await call.nextBatch(); b !== undefined && listening; b = await call.nextBatch())
            for (const m of b) if (listening) listener.message(m);
          if (listening) listener.end();
        } catch (err) {
          if (listening) listener.error(err);
        }
      })();
    },
    release: () => {
      listening = false;
    },
  };
}

/**
 * Pulls a client directory into `dest` incrementally: only files whose type, mode, size or mtime
 * differ from what `dest` already holds cross the wire; entries the client no longer has are removed.
 */
export async function fetchLocalDir(
  session: Session,
  opts: FetchLocalDirOptions,
  signal: AbortSignal,
): Promise<ReceiveResult> {
  if (!session.supports(FileSyncMethods.syncDiffCopy)) {
    throw new FailedPreconditionError(
      `no local sources enabled: session ${session.id} does not serve file sync`,
    );
  }
  const md: Record<string, string | string[]> = {
    [FileSyncMetadataKeys.overrideExcludes]: 'true',
  };
  // Non-ASCII names and patterns are query-escaped with a `-encoded` marker, as BuildKit does.
  const add = (key: string, values: readonly string[] | undefined) => {
    if (values?.length) for (const [k, v] of encodeMetadataValues(key, values)) md[k] = v;
  };
  add(FileSyncMetadataKeys.dirName, [opts.name]);
  add(FileSyncMetadataKeys.includePatterns, opts.includePatterns);
  add(FileSyncMetadataKeys.excludePatterns, opts.excludePatterns);
  add(FileSyncMetadataKeys.followPaths, opts.followPaths);
  const call = session.stream(FileSyncMethods.syncDiffCopy, md, signal);
  const progress = throttleProgress(opts.onProgress);
  const result = await receiveDiffCopy(
    packetStream(messageStream(call)),
    opts.dest,
    {
      ...progress.opts,
      ...(opts.digests ? { digests: opts.digests } : {}),
      ownership: 'preserve',
      differ: 'metadata',
    },
    signal,
  );
  progress.flush();
  await call.done;
  return result;
}

function requireFileSend(session: Session): void {
  if (!session.supports(FileSyncMethods.sendDiffCopy)) {
    throw new FailedPreconditionError(
      `the client of session ${session.id} does not accept exported files (${FileSyncMethods.sendDiffCopy} not advertised)`,
    );
  }
}

/** Local exporter: sends `dir` to the client's FileSend target as fsutil packets. */
export async function sendDirToClient(
  session: Session,
  dir: string,
  signal: AbortSignal,
  opts: { onProgress?: (bytes: number) => void } = {},
): Promise<void> {
  requireFileSend(session);
  const call = session.stream(FileSyncMethods.sendDiffCopy, {}, signal);
  const progress = throttleProgress(opts.onProgress);
  await sendDiffCopyFrames(frameChannel(call), dir, progress.opts, signal);
  progress.flush();
  await drain(call);
}

/**
 * Tar-style exporters: streams raw bytes (BytesMessage chunks) with `exporter-md-*` metadata. The
 * chunks are sent as they are, not copied: a plain chunk's memory must not be reused once yielded;
 * a leased one (LeasedChunk) is released once its bytes are written, so its memory can be.
 */
export async function sendTarToClient(
  session: Session,
  tar: AsyncIterable<Uint8Array | LeasedChunk>,
  exporterMetadata: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<void> {
  requireFileSend(session);
  const md: Record<string, string> = {};
  for (const [k, v] of Object.entries(exporterMetadata)) md[`exporter-md-${k.toLowerCase()}`] = v;
  const call = session.stream(FileSyncMethods.sendDiffCopy, md, signal);
  try {
    for await (const item of tar) {
      const chunk = chunkBytes(item);
      if (chunk.byteLength === 0) {
        releaseChunk(item);
        continue;
      }
      // The BytesMessage by hand: its framing in front, the chunk itself behind (no copy of it).
      try {
        call.writeFrames(bytesMessagePrefix(chunk.byteLength));
      } catch (err) {
        releaseChunk(item);
        throw err;
      }
      const more = call.writeFrames(chunk, item instanceof Uint8Array ? undefined : () => item.release());
      if (!more) await call.waitWritable();
    }
  } catch (err) {
    call.end();
    throw err;
  }
  call.end();
  await drain(call);
}

/** Waits for the peer to finish (EOF and an OK status), ignoring any stray messages. */
async function drain(call: SessionStreamCall): Promise<void> {
  for await (const _ of call) {
    // The peer has nothing to say after FIN / EOF.
  }
  await call.done;
}
