import { InvalidArgumentError } from '../../proto/errors.js';
import type { LayerCompression } from '../../worker/image/media-types.js';

export type ImageExporterKind = 'image' | 'oci' | 'docker';

export interface ImageAnnotations {
  /** `annotation.<k>`, `annotation-manifest.<k>`: on the manifest. */
  readonly manifest: Readonly<Record<string, string>>;
  /** `annotation-index.<k>`: on the index (the layout's index.json). */
  readonly index: Readonly<Record<string, string>>;
  /** `annotation-manifest-descriptor.<k>`: on the manifest's descriptor inside the index. */
  readonly manifestDescriptor: Readonly<Record<string, string>>;
}

/** The image/oci/docker exporter attributes, parsed once at the edge. */
export interface ImageExportOptions {
  readonly kind: ImageExporterKind;
  /** As given (`*` already replaced later by result metadata `image.name`). */
  readonly names: readonly string[];
  readonly push: boolean;
  readonly pushByDigest: boolean;
  readonly insecure: boolean;
  readonly ociMediaTypes: boolean;
  readonly compression: LayerCompression;
  readonly compressionLevel?: number;
  readonly epoch?: Date;
  readonly annotations: ImageAnnotations;
}

/** Attributes BuildKit defines that Kiln accepts and has nothing to do for (no containerd image store). */
const accepted = new Set([
  'store',
  'unpack',
  'dangling-name-prefix',
  'name-canonical',
  'buildinfo',
  'buildinfo-attrs',
  'attestation-inline',
  'prefer-nondist-layers',
  'force-compression',
  'unsafe-internal-store-allow-incomplete',
  'danging-name-empty-only',
]);

/** Go's strconv.ParseBool, with an empty value meaning true (a bare `push` flag). */
export function parseBoolAttr(exporter: string, key: string, value: string): boolean {
  switch (value) {
    case '':
    case '1':
    case 't':
    case 'T':
    case 'true':
    case 'TRUE':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'false':
    case 'FALSE':
    case 'False':
      return false;
    default:
      throw new InvalidArgumentError(
        `${exporter} exporter: ${key}=${JSON.stringify(value)} is not a boolean`,
      );
  }
}

/** SOURCE_DATE_EPOCH: whole seconds since 1970 (BuildKit also takes fractions). */
export function parseEpoch(source: string, value: string): Date {
  if (!/^\d+(\.\d+)?$/.test(value)) {
    throw new InvalidArgumentError(
      `invalid ${source} ${JSON.stringify(value)}: want seconds since 1970-01-01`,
    );
  }
  return new Date(Math.floor(Number(value) * 1000));
}

const annotationKey =
  /^(annotation|annotation-manifest|annotation-index|annotation-manifest-descriptor|annotation-index-descriptor)(\[[^\]]*\])?\.(.+)$/;

export function parseImageExportAttrs(
  kind: ImageExporterKind,
  attrs: Readonly<Record<string, string>>,
): ImageExportOptions & { readonly tar: boolean } {
  const names: string[] = [];
  let push = false;
  let pushByDigest = false;
  let insecure = false;
  let ociMediaTypes = kind === 'oci';
  let compression: LayerCompression = 'gzip';
  let compressionLevel: number | undefined;
  let epoch: Date | undefined;
  let tar = true;
  const manifest: Record<string, string> = {};
  const index: Record<string, string> = {};
  const manifestDescriptor: Record<string, string> = {};
  const bool = (k: string, v: string) => parseBoolAttr(kind, k, v);
  for (const [key, value] of Object.entries(attrs)) {
    const ann = annotationKey.exec(key);
    if (ann) {
      const [, where, , k = ''] = ann;
      if (where === 'annotation' || where === 'annotation-manifest') manifest[k] = value;
      else if (where === 'annotation-index') index[k] = value;
      else if (where === 'annotation-manifest-descriptor') manifestDescriptor[k] = value;
      // annotation-index-descriptor.*: only meaningful for an index inside another index; none here.
      continue;
    }
    switch (key) {
      case 'name':
        names.push(
          ...value
            .split(',')
            .map((n) => n.trim())
            .filter((n) => n !== ''),
        );
        break;
      case 'push':
        if (kind !== 'image')
          throw new InvalidArgumentError(`${kind} exporter: unknown attribute "push" (use type=image)`);
        push = bool(key, value);
        break;
      case 'push-by-digest':
        pushByDigest = bool(key, value);
        break;
      case 'registry.insecure':
        insecure = bool(key, value);
        break;
      case 'oci-mediatypes':
        ociMediaTypes = bool(key, value);
        break;
      case 'compression':
        if (value !== 'gzip' && value !== 'uncompressed') {
          throw new InvalidArgumentError(
            `${kind} exporter: compression=${JSON.stringify(value)} is not supported (use gzip or uncompressed)`,
          );
        }
        compression = value;
        break;
      case 'compression-level': {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0 || n > 9) {
          throw new InvalidArgumentError(
            `${kind} exporter: compression-level must be 0-9, got ${JSON.stringify(value)}`,
          );
        }
        compressionLevel = n;
        break;
      }
      case 'source-date-epoch':
        if (value !== '') epoch = parseEpoch('source-date-epoch', value);
        break;
      case 'tar':
        if (kind === 'image') throw new InvalidArgumentError('image exporter: unknown attribute "tar"');
        tar = bool(key, value);
        break;
      default:
        if (!accepted.has(key))
          throw new InvalidArgumentError(`${kind} exporter: unknown attribute "${key}"`);
    }
  }
  if (!ociMediaTypes && Object.keys(manifest).length > 0) {
    throw new InvalidArgumentError(
      `${kind} exporter: manifest annotations need OCI media types (Docker schema 2 has none); add oci-mediatypes=true`,
    );
  }
  return {
    kind,
    names,
    push,
    pushByDigest,
    insecure,
    ociMediaTypes,
    compression,
    ...(compressionLevel === undefined ? {} : { compressionLevel }),
    ...(epoch === undefined ? {} : { epoch }),
    annotations: { manifest, index, manifestDescriptor },
    tar,
  };
}
