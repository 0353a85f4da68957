import { InvalidArgumentError } from '../../proto/errors.js';
import type { ContentStore } from '../../worker/content/types.js';
import { canonicalJson } from '../../worker/image/canonical-json.js';
import type { Descriptor } from '../../worker/image/manifest.js';
import type { RegistryConfig } from '../config/config.js';
import type { SessionManager } from '../session/manager.js';
import { parseImageName } from '../source/image/reference.js';
import { RegistryClient } from '../source/image/registry-client.js';
import { sessionAuth } from '../source/image/session-auth.js';
import type { RefManager } from '../solver/types.js';
import { type CommittedImage, commitImage, exportNames } from './image-writer.js';
import { parseImageExportAttrs } from './image-options.js';
import type { LayerEvent } from './layers.js';
import { pushImage, type PushReport } from './push.js';
import type { Exporter, ExporterInstance } from './types.js';

export interface ImageExporterDeps {
  readonly refs: RefManager;
  readonly store: ContentStore;
  readonly registry: RegistryClient;
  readonly sessions: SessionManager;
  /** The daemon's `[registry."host"]` settings, kept when `registry.insecure=true` makes a client. */
  readonly registryHosts?: ReadonlyMap<string, RegistryConfig>;
  /** Observers for tests and tooling; the exporter works the same without them. */
  readonly onLayerEvent?: (event: LayerEvent) => void;
  readonly onPushed?: (report: PushReport) => void;
}

/** The ExporterResponse entries BuildKit returns for an image (`exptypes`). */
export function imageResponse(image: CommittedImage, names: readonly string[]): Record<string, string> {
  const desc: Descriptor = image.manifest.descriptor;
  return {
    'containerimage.digest': desc.digest,
    'containerimage.config.digest': image.config.descriptor.digest,
    'containerimage.descriptor': Buffer.from(canonicalJson(desc)).toString('base64'),
    ...(names.length > 0 ? { 'image.name': names.join(',') } : {}),
  };
}

/**
 * `image`: builds the image into the content store and, with `push=true`, pushes it to each name's
 * registry. Kiln has no image store, so without push the image stays as blobs (reachable through
 * the response's digest).
 */
export function createImageExporter(deps: ImageExporterDeps): Exporter {
  return {
    resolve(attrs): ExporterInstance {
      const opts = parseImageExportAttrs('image', attrs);
      return {
        name: 'exporting to image',
        async export({ ref, metadata, session, signal, progress }) {
          const names = exportNames(opts, metadata);
          const image = await commitImage(
            { ref, metadata, signal, progress },
            deps,
            opts,
            deps.onLayerEvent ? { onLayerEvent: deps.onLayerEvent } : {},
          );
          await using _lease = deps.store.lease([
            image.manifest.descriptor.digest,
            image.config.descriptor.digest,
            ...image.layers.map((l) => l.digest),
          ]);
          if (opts.push) {
            const parsed = names.map((n) => parseImageName(n));
            if (parsed.length === 0) {
              throw new InvalidArgumentError(
                'image exporter: push=true needs a name (name=<registry>/<repo>:<tag>)',
              );
            }
            const registry = opts.insecure
              ? insecureClient(
                  deps,
                  parsed.map((n) => n.registry),
                )
              : deps.registry;
            const report = await pushImage(
              image,
              parsed,
              { registry, store: deps.store },
              { auth: sessionAuth(deps.sessions, [session.id]), byDigest: opts.pushByDigest },
              signal,
              progress,
            );
            deps.onPushed?.(report);
          }
          return imageResponse(image, names);
        },
      };
    },
  };
}

/** `registry.insecure=true`: plain HTTP and no certificate checks for the hosts pushed to. */
function insecureClient(deps: ImageExporterDeps, hosts: readonly string[]): RegistryClient {
  const merged = new Map(deps.registryHosts ?? []);
  for (const h of hosts) merged.set(h, { mirrors: [], ...merged.get(h), http: true, insecure: true });
  return new RegistryClient({ hosts: merged });
}
