/** Media types of image blobs, Docker schema 2 and OCI (the same bytes under two names). */
export const MediaTypes = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
} as const;

export type LayerCompression = 'gzip' | 'uncompressed';

/** The layer media type for a compression in the chosen family. */
export function layerMediaType(compression: LayerCompression, oci: boolean): string {
  if (compression === 'gzip') return oci ? MediaTypes.ociLayerGzip : MediaTypes.dockerLayerGzip;
  return oci ? MediaTypes.ociLayer : MediaTypes.dockerLayer;
}

/** How a layer blob is compressed, from its media type (undefined: a type Kiln does not make). */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  switch (mediaType) {
    case MediaTypes.dockerLayerGzip:
    case MediaTypes.ociLayerGzip:
      return 'gzip';
    case MediaTypes.dockerLayer:
    case MediaTypes.ociLayer:
      return 'uncompressed';
    default:
      return undefined;
  }
}
