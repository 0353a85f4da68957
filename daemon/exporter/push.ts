import type { ContentStore } from '../../worker/content/types.js';
import type { Descriptor } from '../../worker/image/manifest.js';
import type { ImageName } from '../source/image/reference.js';
import type { RegistryAuth, RegistryClient } from '../source/image/registry-client.js';
import type { OpProgress } from '../solver/types.js';
import type { CommittedImage } from './image-writer.js';

/** What a push did, per blob digest (a repository pushed to twice counts each time). */
export interface PushReport {
  readonly uploaded: string[];
  readonly existing: string[];
  /** Manifest digest per pushed name. */
  readonly manifests: Record<string, string>;
}

export interface PushDeps {
  readonly registry: RegistryClient;
  readonly store: ContentStore;
}

/**
 * Pushes layers (in parallel; the registry is asked first, so blobs it has are not sent again),
 * then the config, then the manifest under each name's tag (or by digest). Names in the same
 * repository share the blob uploads.
 */
export async function pushImage(
  image: CommittedImage,
  names: readonly ImageName[],
  deps: PushDeps,
  opts: { readonly auth: RegistryAuth; readonly byDigest: boolean },
  signal: AbortSignal,
  progress: OpProgress,
): Promise<PushReport> {
  const report: PushReport = { uploaded: [], existing: [], manifests: {} };
  const repos = new Map<string, ImageName>();
  for (const n of names) {
    const key = `${n.registry}/${n.repository}`;
    if (!repos.has(key)) repos.set(key, n);
  }
  const pushBlob = async (name: ImageName, desc: Descriptor): Promise<void> => {
    const id = `pushing ${desc.digest}`;
    const result = await deps.registry.pushBlob(
      name,
      { digest: desc.digest, size: desc.size, mediaType: desc.mediaType },
      () => deps.store.read(desc.digest, signal),
      signal,
      opts.auth,
      (current) => progress.status(id, { current, total: desc.size }),
    );
    (result === 'uploaded' ? report.uploaded : report.existing).push(desc.digest);
    progress.status(id, { current: desc.size, total: desc.size, completed: true });
  };
  progress.status('pushing layers', {});
  for (const name of repos.values()) {
    // allSettled: nothing may still read the store once the caller drops its lease.
    const settled = await Promise.allSettled(image.layers.map((l) => pushBlob(name, l)));
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
    await pushBlob(name, image.config.descriptor);
  }
  progress.status('pushing layers', { completed: true });
  for (const name of names) {
    const id = `pushing manifest for ${name.toString()}`;
    progress.status(id, {});
    const reference = opts.byDigest || name.tag === undefined ? image.manifest.descriptor.digest : name.tag;
    report.manifests[name.toString()] = await deps.registry.pushManifest(
      name,
      reference,
      image.manifest.bytes,
      image.manifest.descriptor.mediaType,
      signal,
      opts.auth,
    );
    progress.status(id, { completed: true });
  }
  return report;
}
