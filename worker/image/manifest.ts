import { createHash } from 'node:crypto';
import type { LayerDescriptor } from '../../daemon/solver/types.js';
import { canonicalJsonBytes } from './canonical-json.js';
import { layerCompression, layerMediaType, MediaTypes } from './media-types.js';

/** An OCI content descriptor (also what Docker schema 2 uses). */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: Readonly<Record<string, unknown>>;
}

/** A JSON document ready to store: its bytes and the descriptor that names them. */
export interface Blob {
  readonly bytes: Uint8Array;
  readonly descriptor: Descriptor;
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function jsonBlob(mediaType: string, value: unknown): Blob {
  const bytes = canonicalJsonBytes(value);
  return { bytes, descriptor: { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength } };
}

/** The layer under the media type of the chosen family (the blob bytes are the same). */
export function layerDescriptor(layer: LayerDescriptor, oci: boolean): Descriptor {
  const compression = layerCompression(layer.mediaType);
  const mediaType = compression === undefined ? layer.mediaType : layerMediaType(compression, oci);
  return { mediaType, digest: layer.digest, size: layer.size };
}

export interface ManifestOptions {
  readonly oci: boolean;
  /** Manifest annotations (`annotation.*` / `annotation-manifest.*`); OCI only. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Config blob + manifest blob for one platform's image. */
export function buildImageManifest(
  config: Record<string, unknown>,
  layers: readonly LayerDescriptor[],
  opts: ManifestOptions,
): { config: Blob; manifest: Blob } {
  const configBlob = jsonBlob(opts.oci ? MediaTypes.ociConfig : MediaTypes.dockerConfig, config);
  const manifestType = opts.oci ? MediaTypes.ociManifest : MediaTypes.dockerManifest;
  const annotations =
    opts.annotations && Object.keys(opts.annotations).length > 0 ? opts.annotations : undefined;
  const manifest = jsonBlob(manifestType, {
    schemaVersion: 2,
    mediaType: manifestType,
    config: configBlob.descriptor,
    layers: layers.map((l) => layerDescriptor(l, opts.oci)),
    ...(annotations ? { annotations } : {}),
  });
  return { config: configBlob, manifest };
}

/** An OCI image index listing `manifests` (the `index.json` of a layout, or a multi-platform image). */
export function buildImageIndex(
  manifests: readonly Descriptor[],
  annotations?: Readonly<Record<string, string>>,
): Blob {
  return jsonBlob(MediaTypes.ociIndex, {
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests,
    ...(annotations && Object.keys(annotations).length > 0 ? { annotations } : {}),
  });
}
