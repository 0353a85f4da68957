import { UnimplementedError } from '../../proto/errors.js';
import type { ContentStore } from '../../worker/content/types.js';
import { chunkBytes } from '../../worker/leased-chunk.js';
import { sendTarToClient } from '../session/filesync.js';
import { parseImageName } from '../source/image/reference.js';
import type { RefManager } from '../solver/types.js';
import { imageResponse } from './image.js';
import { commitImage, exportNames } from './image-writer.js';
import { parseImageExportAttrs } from './image-options.js';
import { ociArchive } from './oci-archive.js';
import type { Exporter, ExporterInstance } from './types.js';

export interface ArchiveExporterDeps {
  readonly refs: RefManager;
  readonly store: ContentStore;
}

/**
 * `oci` / `docker`: builds the image into the content store, then streams it to the client's `dest`
 * as a tarball (OCI layout; `docker` adds `manifest.json` and uses Docker media types by default).
 */
export function createArchiveExporter(kind: 'oci' | 'docker', deps: ArchiveExporterDeps): Exporter {
  return {
    resolve(attrs): ExporterInstance {
      const opts = parseImageExportAttrs(kind, attrs);
      if (!opts.tar) {
        throw new UnimplementedError(
          `${kind} exporter: tar=false (writing into the client's content store) is not supported yet; leave tar unset`,
        );
      }
      return {
        name: kind === 'oci' ? 'exporting to oci image format' : 'exporting to docker image format',
        async export({ ref, metadata, session, signal, progress }) {
          const names = exportNames(opts, metadata);
          const parsed = names.map((n) => parseImageName(n));
          const image = await commitImage({ ref, metadata, signal, progress }, deps, opts);
          const response = imageResponse(image, names);
          await using _lease = deps.store.lease([
            image.manifest.descriptor.digest,
            image.config.descriptor.digest,
            ...image.layers.map((l) => l.digest),
          ]);
          const archive = ociArchive(
            image,
            parsed,
            deps.store,
            {
              docker: kind === 'docker',
              indexAnnotations: opts.annotations.index,
              descriptorAnnotations: opts.annotations.manifestDescriptor,
            },
            signal,
          );
          const status = 'sending tarball';
          let sent = 0;
          // Blobs come in buffers the store reads into again once their bytes are sent.
          const counted = async function* () {
            for await (const chunk of archive) {
              sent += chunkBytes(chunk).byteLength;
              progress.status(status, { current: sent });
              yield chunk;
            }
          };
          await sendTarToClient(session, counted(), response, signal);
          progress.status(status, { current: sent, completed: true });
          return response;
        },
      };
    },
  };
}

export function createOciExporter(deps: ArchiveExporterDeps): Exporter {
  return createArchiveExporter('oci', deps);
}
