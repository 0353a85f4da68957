import type { ContentStore } from '../../worker/content/types.js';
import { canonicalJsonBytes } from '../../worker/image/canonical-json.js';
import { buildImageIndex, type Descriptor } from '../../worker/image/manifest.js';
import type { ImageName } from '../source/image/reference.js';
import type { CommittedImage } from './image-writer.js';
import { type PackEntry, packTar } from './tar-pack.js';
import type { LeasedChunk } from '../../worker/leased-chunk.js';

export interface OciArchiveOptions {
  /** Also write Docker's `manifest.json`, so `docker load` takes the archive. */
  readonly docker: boolean;
  /** `annotation-index.*` for index.json. */
  readonly indexAnnotations?: Readonly<Record<string, string>>;
  /** `annotation-manifest-descriptor.*` for the manifest's entries in index.json. */
  readonly descriptorAnnotations?: Readonly<Record<string, string>>;
}

const blobPath = (digest: string): string => `blobs/${digest.replace(':', '/')}`;

/** index.json entries: one per name (`io.containerd.image.name` + `org.opencontainers.image.ref.name`), or one unnamed. */
export function layoutIndexEntries(
  manifest: Descriptor,
  names: readonly ImageName[],
  extra: Readonly<Record<string, string>> = {},
): Descriptor[] {
  const base = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size };
  if (names.length === 0)
    return [Object.keys(extra).length > 0 ? { ...base, annotations: { ...extra } } : base];
  return names.map((n) => ({
    ...base,
    annotations: {
      ...extra,
      'io.containerd.image.name': n.toString(),
      ...(n.tag === undefined ? {} : { 'org.opencontainers.image.ref.name': n.tag }),
    },
  }));
}

/**
 * The image as an OCI image layout in a tar (what `oci-archive:` readers and umoci take), blobs
 * streamed from the store. With `docker`, plus `manifest.json` for `docker load` / `docker-archive:`.
 */
export function ociArchive(
  image: CommittedImage,
  names: readonly ImageName[],
  store: ContentStore,
  opts: OciArchiveOptions,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array | LeasedChunk> {
  const entries: PackEntry[] = [
    { name: 'blobs/', type: 'directory' },
    { name: 'blobs/sha256/', type: 'directory' },
  ];
  const seen = new Set<string>();
  const fromStore = (d: Descriptor): void => {
    if (seen.has(d.digest)) return;
    seen.add(d.digest);
    entries.push({
      name: blobPath(d.digest),
      type: 'file',
      size: d.size,
      body: () => store.readLeased(d.digest, signal),
    });
  };
  const inline = (name: string, bytes: Uint8Array): void => {
    entries.push({
      name,
      type: 'file',
      size: bytes.byteLength,
      body: async function* () {
        yield bytes;
      },
    });
  };
  for (const l of image.layers) fromStore(l);
  for (const blob of [image.config, image.manifest]) {
    if (seen.has(blob.descriptor.digest)) continue;
    seen.add(blob.descriptor.digest);
    inline(blobPath(blob.descriptor.digest), blob.bytes);
  }
  inline('oci-layout', canonicalJsonBytes({ imageLayoutVersion: '1.0.0' }));
  const index = buildImageIndex(
    layoutIndexEntries(image.manifest.descriptor, names, opts.descriptorAnnotations),
    opts.indexAnnotations,
  );
  inline('index.json', index.bytes);
  if (opts.docker) {
    inline(
      'manifest.json',
      canonicalJsonBytes([
        {
          Config: blobPath(image.config.descriptor.digest),
          RepoTags: names.filter((n) => n.tag !== undefined).map((n) => n.familiar().replace(/@.*$/, '')),
          Layers: image.layers.map((l) => blobPath(l.digest)),
        },
      ]),
    );
  }
  return packTar(entries, signal);
}
