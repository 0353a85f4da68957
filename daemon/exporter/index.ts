import type { ContentStore } from '../../worker/content/types.js';
import type { RegistryConfig } from '../config/config.js';
import type { SessionManager } from '../session/manager.js';
import type { RegistryClient } from '../source/image/registry-client.js';
import type { RefManager } from '../solver/types.js';
import { createDockerExporter } from './docker.js';
import { createImageExporter } from './image.js';
import { createLocalExporter } from './local.js';
import { createOciExporter } from './oci.js';
import { createTarExporter } from './tar.js';
import type { Exporter } from './types.js';

export interface ExporterDeps {
  readonly refs: RefManager;
  readonly store: ContentStore;
  readonly registry: RegistryClient;
  readonly sessions: SessionManager;
  /** The daemon's registry settings (kept when an export asks for `registry.insecure`). */
  readonly registryHosts?: ReadonlyMap<string, RegistryConfig>;
}

/**
 * Exporters by the name a client sends in SolveRequest.Exporter. Empty name = none (cache only).
 * Without deps only the file exporters exist (image/oci/docker need the ref store, content store
 * and registry).
 */
export function createExporters(deps?: ExporterDeps): Map<string, Exporter> {
  const exporters = new Map<string, Exporter>([
    ['local', createLocalExporter()],
    ['tar', createTarExporter()],
  ]);
  if (deps) {
    exporters.set('image', createImageExporter(deps));
    exporters.set('oci', createOciExporter(deps));
    exporters.set('docker', createDockerExporter(deps));
  }
  return exporters;
}
