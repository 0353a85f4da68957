import type { Exporter } from './types.js';
import { type ArchiveExporterDeps, createArchiveExporter } from './oci.js';

/** `docker`: an OCI layout tarball plus `manifest.json`, loadable with `docker load`. */
export function createDockerExporter(deps: ArchiveExporterDeps): Exporter {
  return createArchiveExporter('docker', deps);
}
