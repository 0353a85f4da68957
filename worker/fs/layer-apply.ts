import { createHash } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { KilnError } from '../../proto/errors.js';
import { extractEntries } from './tar-extract.js';

/**
 * Unpacks an image layer (a tar, gzip or plain) onto `dir`, which is a hardlink-shared clone of the
 * parent snapshot, with tar-extract.ts's rules: existing files are never modified in place, only
 * unlinked and created anew; whiteouts (`.wh.<name>`) delete from lower layers and `.wh..wh..opq`
 * empties a directory of what lower layers put there; absolute names are rejected. The diff_id is
 * hashed from the uncompressed tar on the way through.
 */

export class LayerApplyError extends KilnError {
  readonly entry: string;
  constructor(entry: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', `layer entry ${JSON.stringify(entry)}: ${message}`, options);
    this.name = 'LayerApplyError';
    this.entry = entry;
  }
}

export interface ApplyLayerResult {
  /** sha256 of the uncompressed tar, `sha256:<hex>` (the image config's diff_id). */
  readonly diffID: string;
  /** Size of the uncompressed tar. */
  readonly bytes: number;
}

async function* withFirst(first: Uint8Array, rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield first;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield r.value;
  }
}

export async function applyLayer(
  dir: string,
  source: AsyncIterable<Uint8Array>,
  signal: AbortSignal,
): Promise<ApplyLayerResult> {
  signal.throwIfAborted();
  const root = path.resolve(dir);
  const it = source[Symbol.asyncIterator]();
  let first: Uint8Array | undefined;
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    if (r.value.byteLength > 0) {
      first = r.value;
      break;
    }
  }
  const hash = createHash('sha256');
  let bytes = 0;
  if (first === undefined) {
    // An empty blob is not a tar, but an empty layer: nothing to apply.
    return { diffID: `sha256:${hash.digest('hex')}`, bytes: 0 };
  }
  const gzip = first.byteLength >= 2 && first[0] === 0x1f && first[1] === 0x8b;
  const raw = Readable.from(withFirst(first, it), { objectMode: false });
  let plain: AsyncIterable<Uint8Array> = raw;
  if (gzip) {
    const gunzip = createGunzip();
    raw.on('error', (err) => gunzip.destroy(err));
    raw.pipe(gunzip);
    plain = gunzip;
  }
  const extract = tar.extract();
  const feeder = (async () => {
    try {
      for await (const chunk of plain) {
        signal.throwIfAborted();
        const buf = chunk as Buffer;
        hash.update(buf);
        bytes += buf.byteLength;
        if (!extract.write(buf)) await new Promise<void>((r) => extract.once('drain', () => r()));
      }
      extract.end(undefined);
    } catch (err) {
      extract.destroy(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  })();
  // Keep a rejection of the feeder from being unhandled while entries are applied; awaited below.
  feeder.catch(() => undefined);
  try {
    await extractEntries(
      extract,
      root,
      {
        error: layerError,
        rootName: 'layer root',
        absoluteNames: 'reject',
        whiteouts: true,
        followDirectorySymlinks: false,
      },
      signal,
    );
  } catch (err) {
    extract.destroy(err instanceof Error ? err : new Error(String(err)));
    raw.destroy();
    await feeder.catch(() => undefined);
    throw err;
  }
  await feeder;
  return { diffID: `sha256:${hash.digest('hex')}`, bytes };
}

function layerError(entry: string, message: string, cause?: unknown): LayerApplyError {
  return new LayerApplyError(entry, message, cause === undefined ? undefined : { cause });
}
