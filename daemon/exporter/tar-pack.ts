import { KilnError } from '../../proto/errors.js';
import { chunkBytes, type LeasedChunk, releaseChunk } from '../../worker/leased-chunk.js';
import {
  encodeTarHeader,
  type TarHeader,
  TarType,
  tarHeaderMaxBytes,
  tarPadded,
} from '../../worker/fs/tar-header.js';

/** An entry of a generated archive (not a file tree): fixed owner 0:0 and mtime 0, so bytes are stable. */
export type PackEntry =
  | { readonly name: string; readonly type: 'directory' }
  | {
      readonly name: string;
      readonly type: 'file';
      readonly size: number;
      /** Opened when the entry is written, so at most one body is read at a time. */
      readonly body: () => AsyncIterable<Uint8Array | LeasedChunk>;
    };

/**
 * Streams `entries` as a tar; bodies are read as the consumer pulls, never buffered whole, and
 * passed on as they come (headers and padding are the only bytes made here).
 */
export async function* packTar(
  entries: readonly PackEntry[],
  signal: AbortSignal,
): AsyncGenerator<Uint8Array | LeasedChunk> {
  signal.throwIfAborted();
  // Padding of the previous body, then the next header: one small chunk between bodies.
  let pad = 0;
  for (const e of entries) {
    signal.throwIfAborted();
    const h: TarHeader = {
      name: e.name,
      flag: TarType[e.type],
      mode: e.type === 'directory' ? 0o755 : 0o644,
      uid: 0,
      gid: 0,
      size: e.type === 'file' ? e.size : 0,
      mtimeMs: 0,
      linkname: '',
      devmajor: 0,
      devminor: 0,
    };
    const head = Buffer.alloc(pad + tarHeaderMaxBytes(h));
    const n = encodeTarHeader(head, pad, h);
    yield head.subarray(0, pad + n);
    pad = 0;
    if (e.type === 'directory') continue;
    let written = 0;
    for await (const chunk of e.body()) {
      written += chunkBytes(chunk).byteLength;
      if (signal.aborted || written > e.size) {
        releaseChunk(chunk);
        signal.throwIfAborted();
        break;
      }
      yield chunk;
    }
    if (written !== e.size) {
      throw new KilnError('INTERNAL', `${e.name}: expected ${e.size} bytes, read ${written}`);
    }
    pad = tarPadded(e.size) - e.size;
  }
  // Padding and the end of archive: two zero blocks.
  yield Buffer.alloc(pad + 1024);
}
