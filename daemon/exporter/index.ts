import { createLocalExporter } from './local.js';
import { createTarExporter } from './tar.js';
import type { Exporter } from './types.js';

/** Exporters by the name a client sends in SolveRequest.Exporter. Empty name = none (cache only). */
export function createExporters(): Map<string, Exporter> {
  return new Map<string, Exporter>([
    ['local', createLocalExporter()],
    ['tar', createTarExporter()],
  ]);
}
