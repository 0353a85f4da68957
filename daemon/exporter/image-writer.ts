import { parseImageName } from '../source/image/reference.js';
import { assembleImageConfig } from '../../worker/image/image-config.js';
import {
  type Blob,
  buildImageManifest,
  type Descriptor,
  layerDescriptor,
} from '../../worker/image/manifest.js';
import type { ImmutableRef, OpProgress } from '../solver/types.js';
import type { ImageExportOptions } from './image-options.js';
import { parseEpoch } from './image-options.js';
import { ensureLayers, type LayerDeps, type LayerOptions } from './layers.js';

/** An image written to the content store: manifest, config and layers (base first). */
export interface CommittedImage {
  readonly manifest: Blob;
  readonly config: Blob;
  readonly layers: readonly Descriptor[];
}

export interface CommitInput {
  readonly ref: ImmutableRef | undefined;
  readonly metadata: Readonly<Record<string, Uint8Array>>;
  readonly signal: AbortSignal;
  readonly progress: OpProgress;
}

const decoder = new TextDecoder();

/** SOURCE_DATE_EPOCH from the attr, else from the frontend's result metadata. */
export function exportEpoch(
  opts: ImageExportOptions,
  metadata: Readonly<Record<string, Uint8Array>>,
): Date | undefined {
  if (opts.epoch) return opts.epoch;
  for (const key of ['source.date.epoch', 'SOURCE_DATE_EPOCH']) {
    const v = metadata[key];
    if (v && v.byteLength > 0) return parseEpoch(`${key} metadata`, decoder.decode(v).trim());
  }
  return undefined;
}

/** Image names to tag: the attr's list, with `*` standing for result metadata `image.name`. */
export function exportNames(
  opts: ImageExportOptions,
  metadata: Readonly<Record<string, Uint8Array>>,
): string[] {
  const out: string[] = [];
  for (const n of opts.names) {
    if (n !== '*') {
      out.push(n);
      continue;
    }
    const md = metadata['image.name'];
    if (md)
      out.push(
        ...decoder
          .decode(md)
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      );
  }
  for (const n of out) parseImageName(n); // a bad name fails before any work is done
  return [...new Set(out)];
}

/**
 * Makes the result's layers, config and manifest and stores them: what BuildKit's ImageWriter.Commit
 * does for one platform.
 */
export async function commitImage(
  input: CommitInput,
  deps: LayerDeps,
  opts: ImageExportOptions,
  extra: Pick<LayerOptions, 'onLayerEvent' | 'concurrency'> & { readonly now?: Date } = {},
): Promise<CommittedImage> {
  const { signal, progress } = input;
  const epoch = exportEpoch(opts, input.metadata);
  const chain = await ensureLayers(
    input.ref,
    deps,
    {
      compression: opts.compression,
      ociMediaTypes: opts.ociMediaTypes,
      ...(opts.compressionLevel === undefined ? {} : { compressionLevel: opts.compressionLevel }),
      ...(extra.onLayerEvent ? { onLayerEvent: extra.onLayerEvent } : {}),
      ...(extra.concurrency === undefined ? {} : { concurrency: extra.concurrency }),
      ...(epoch ? { epoch } : {}),
    },
    signal,
    progress,
  );
  const { config, layers } = assembleImageConfig(input.metadata['containerimage.config'], chain, {
    now: extra.now ?? new Date(),
    ...(epoch ? { epoch } : {}),
  });
  const built = buildImageManifest(config, layers, {
    oci: opts.ociMediaTypes,
    annotations: opts.annotations.manifest,
  });
  for (const [what, blob] of [
    ['manifest', built.manifest],
    ['config', built.config],
  ] as const) {
    const id = `exporting ${what} ${blob.descriptor.digest}`;
    progress.status(id, {});
    await deps.store.write(
      (async function* () {
        yield blob.bytes;
      })(),
      { digest: blob.descriptor.digest, size: blob.descriptor.size },
      signal,
    );
    progress.status(id, { completed: true });
  }
  return {
    manifest: built.manifest,
    config: built.config,
    layers: layers.map((l) => layerDescriptor(l, opts.ociMediaTypes)),
  };
}
