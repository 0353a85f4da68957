import { createHash } from 'node:crypto';
import os from 'node:os';
import { KilnError } from '../../proto/errors.js';
import type { ContentStore } from '../../worker/content/types.js';
import { diffTar } from '../../worker/fs/diff.js';
import type { ChainLayer } from '../../worker/image/image-config.js';
import { layerCompression, layerMediaType, type LayerCompression } from '../../worker/image/media-types.js';
import type { ImmutableRef, LayerDescriptor, OpProgress, RefManager } from '../solver/types.js';
import { parallelGzip } from './parallel-gzip.js';

export interface LayerDeps {
  readonly refs: RefManager;
  readonly store: ContentStore;
}

/**
 * When a layer's first and last output bytes were produced (compressed bytes for gzip), for
 * tooling and for tests that check layers are really made in parallel.
 */
export interface LayerEvent {
  readonly refId: string;
  readonly phase: 'start' | 'end';
  /** process.hrtime.bigint() when it happened. */
  readonly at: bigint;
}

export interface LayerOptions {
  readonly compression: LayerCompression;
  readonly ociMediaTypes: boolean;
  /** gzip level 0-9 (default 6, as BuildKit). */
  readonly compressionLevel?: number;
  /** How many layers are diffed and compressed at once (default: the CPU count, at least 2). */
  readonly concurrency?: number;
  readonly onLayerEvent?: (event: LayerEvent) => void;
  /** SOURCE_DATE_EPOCH: layers made here get mtimes after it clamped to it. */
  readonly epoch?: Date;
}

/** The diffID of a layer with no entries: the tar end marker alone (two zero blocks). */
export const EmptyLayerDiffID = `sha256:${createHash('sha256').update(Buffer.alloc(1024)).digest('hex')}`;

/**
 * The layers of `ref`'s chain, base first: one per ref (walking `refs.parentOf`), each the blob
 * remembered for that ref when its compression fits, else made now by diffing the ref against its
 * parent — hashing the tar (diffID) and compressing it into the content store in one pass — and
 * remembered with `refs.setLayer`. Layers are made in parallel: zlib's async streams run on the
 * libuv thread pool, so several layers (and several blocks of one layer) compress at once. An empty diff is returned with `empty`
 * set (BuildKit puts no layer in the image for it).
 */
export async function ensureLayers(
  ref: ImmutableRef | undefined,
  deps: LayerDeps,
  opts: LayerOptions,
  signal: AbortSignal,
  progress: OpProgress,
): Promise<ChainLayer[]> {
  signal.throwIfAborted();
  if (!ref) return [];
  // Handles we own: every ancestor (the caller owns `ref`).
  const owned: ImmutableRef[] = [];
  try {
    const chain: ImmutableRef[] = [ref];
    for (let cur = await deps.refs.parentOf(ref); cur; cur = await deps.refs.parentOf(cur)) {
      owned.push(cur);
      chain.unshift(cur);
      signal.throwIfAborted();
    }
    const total = chain.length;
    let done = 0;
    const status = 'exporting layers';
    progress.status(status, { current: 0, total });
    const limit = opts.concurrency ?? Math.max(2, os.availableParallelism());
    const results = await mapLimited(chain, limit, signal, async (r, i, sig) => {
      const parent = i > 0 ? chain[i - 1] : undefined;
      const layer = await layerFor(r, parent, deps, opts, sig);
      done++;
      progress.status(status, { current: done, total });
      return { descriptor: layer, empty: layer.diffID === EmptyLayerDiffID };
    });
    progress.status(status, { current: total, total, completed: true });
    return results;
  } finally {
    await Promise.all(owned.map((r) => r.release()));
  }
}

async function layerFor(
  ref: ImmutableRef,
  parent: ImmutableRef | undefined,
  deps: LayerDeps,
  opts: LayerOptions,
  signal: AbortSignal,
): Promise<LayerDescriptor> {
  const known = deps.refs.getLayer(ref.id);
  if (
    known &&
    reusable(known, opts.epoch) &&
    layerCompression(known.mediaType) === opts.compression &&
    (await deps.store.info(known.digest))
  ) {
    return { ...known, mediaType: layerMediaType(opts.compression, opts.ociMediaTypes) };
  }
  const layer = await writeLayer(ref.id, parent?.snapshot.dir, ref.snapshot.dir, deps.store, opts, signal);
  await deps.refs.setLayer(ref.id, layer, signal);
  return layer;
}

function epochSeconds(epoch: Date): number {
  return Math.floor(epoch.getTime() / 1000);
}

/**
 * Whether a remembered blob has the timestamps this export asks for: a diffed layer only for the
 * same clamping (none, or the same epoch); a pulled one as published, as BuildKit keeps base layers.
 */
function reusable(known: LayerDescriptor, epoch: Date | undefined): boolean {
  if (epoch === undefined) return known.clampedTo === undefined;
  if (known.clampedTo !== undefined) return known.clampedTo === epochSeconds(epoch);
  return known.diffed !== true;
}

/**
 * Diff → (sha256 of the tar) → gzip → content store, streaming, in one pass. An uncompressed blob
 * is the tar itself: the store's digest is the diffID, so the tar is hashed once, not twice.
 */
async function writeLayer(
  refId: string,
  parentDir: string | undefined,
  childDir: string,
  store: ContentStore,
  opts: LayerOptions,
  signal: AbortSignal,
): Promise<LayerDescriptor> {
  // The producer thread hashes the tar as it writes it (the diffID), off the event loop; an
  // uncompressed blob is the tar itself, whose digest the store computes anyway.
  let diffID: string | undefined;
  const tar = diffTar(parentDir, childDir, signal, {
    ...(opts.epoch ? { clampMtime: new Date(epochSeconds(opts.epoch) * 1000) } : {}),
    ...(opts.compression === 'gzip' ? { onDiffId: (d: string) => (diffID = d) } : {}),
  });
  const source =
    opts.compression === 'gzip' ? parallelGzip(tar, { level: opts.compressionLevel ?? 6 }, signal) : tar;
  // The tar producer's chunks and parallelGzip's blocks are fresh buffers nothing else holds: the
  // store moves them to its ingest thread, which hashes and writes them off the event loop.
  const blob = await store.write(observed(refId, source, opts.onLayerEvent), {}, signal, { handOver: true });
  if (opts.compression === 'gzip' && diffID === undefined) {
    throw new KilnError('INTERNAL', `layer of ${refId}: the tar ended without its digest`);
  }
  return {
    mediaType: layerMediaType(opts.compression, opts.ociMediaTypes),
    digest: blob.digest,
    size: blob.size,
    diffID: diffID ?? blob.digest,
    diffed: true,
    ...(opts.epoch ? { clampedTo: epochSeconds(opts.epoch) } : {}),
  };
}

/** Reports the first and the last output chunk: the span in which the layer was really being made. */
async function* observed(
  refId: string,
  source: AsyncIterable<Uint8Array>,
  onEvent: ((event: LayerEvent) => void) | undefined,
): AsyncGenerator<Uint8Array> {
  let started = false;
  for await (const chunk of source) {
    if (!started) {
      started = true;
      onEvent?.({ refId, phase: 'start', at: process.hrtime.bigint() });
    }
    yield chunk;
  }
  onEvent?.({ refId, phase: 'end', at: process.hrtime.bigint() });
}

/**
 * `items.map(fn)` with at most `limit` running at a time; results keep the input order. The first
 * failure aborts the others (through the signal they get) and is thrown once all have stopped, so
 * nothing still runs when the caller releases what the items use.
 */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  fn: (item: T, index: number, signal: AbortSignal) => Promise<R>,
): Promise<R[]> {
  const ac = new AbortController();
  const onAbort = () => ac.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !ac.signal.aborted) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i, ac.signal);
      } catch (err) {
        failure ??= { err };
        ac.abort(err);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure.err;
  signal.throwIfAborted();
  return results;
}
