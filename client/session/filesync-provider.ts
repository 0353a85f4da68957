import type { ServerDuplexStream } from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { toGrpcStatus } from '../../proto/errors.js';
import { decodeMetadataValues } from '../../proto/header-encoding.js';
import { packetStream } from '../../worker/fs/fsutil-packet.js';
import { sendDiffCopy, sendDiffCopyFrames } from '../../worker/fs/fsutil-send.js';
import type { FsStat } from '../../worker/fs/fsutil-types.js';
import {
  callSignal,
  metadataList,
  metadataValues,
  type SessionAttachable,
  serverFrameChannel,
  serverMessageStream,
} from './attachable.js';

/** FileSync.DiffCopy: serves `--local name=path` directories to the daemon (BuildKit fsSyncProvider). */

export interface SyncedDir {
  readonly dir: string;
  /** Client-side excludes (docker's .dockerignore handling); replaced unless the daemon asks to override. */
  readonly excludes?: readonly string[];
}

export function fileSyncProvider(
  dirs: ReadonlyMap<string, string | SyncedDir> | Readonly<Record<string, string | SyncedDir>>,
  signal: AbortSignal,
): SessionAttachable {
  const byName = new Map<string, SyncedDir>(
    (dirs instanceof Map ? [...dirs.entries()] : Object.entries(dirs)).map(([k, v]) => [
      k,
      typeof v === 'string' ? { dir: v } : v,
    ]),
  );
  const handler = (call: ServerDuplexStream<Buffer, Buffer>) => {
    const md = call.metadata;
    // BuildKit query-escapes values with non-ASCII characters and marks the key `<key>-encoded`.
    const list = (key: string, split: boolean) =>
      decodeMetadataValues(
        split ? metadataList(md, key) : metadataValues(md, key),
        metadataValues(md, `${key}-encoded`)[0],
      );
    const name = list('dir-name', false)[0] ?? '';
    const synced = byName.get(name);
    if (!synced) {
      call.emit('error', { code: GrpcStatus.NOT_FOUND, details: `no access allowed to dir "${name}"` });
      return;
    }
    let excludes = list('exclude-patterns', true);
    const override = metadataValues(md, 'override-excludes')[0] === 'true';
    if (synced.excludes && !override) excludes = [...synced.excludes];
    const opts = {
      includePatterns: list('include-patterns', true),
      excludePatterns: excludes,
      followPaths: list('followpaths', true),
      // buildctl's Map: the daemon owns the files, whoever owns them here.
      mapStat: (s: FsStat) => ({ ...s, uid: 0, gid: 0 }),
    };
    const callAborted = callSignal(call, signal);
    // The HTTP/2 stream under the call takes the packets in bulk; grpc-js's own path if it cannot be found.
    const channel = serverFrameChannel(call);
    const sent = channel
      ? sendDiffCopyFrames(channel, synced.dir, opts, callAborted)
      : sendDiffCopy(packetStream(serverMessageStream(call)), synced.dir, opts, callAborted);
    sent.catch((err: unknown) => {
      const st = toGrpcStatus(err);
      call.emit('error', { code: st.code, details: st.details });
    });
  };
  return {
    methods: [{ kind: 'bidi', path: '/moby.filesync.v1.FileSync/DiffCopy', handler }],
  };
}
