import type { PbOpMetadata } from './pb-types.js';
import type { Platform } from './platform.js';

/** Per-vertex options that end up in pb.OpMetadata (never in the op bytes, except platform). */
export interface OpOptions {
  /** Progress name of the vertex (`llb.customname`). */
  readonly customName?: string;
  /** Extra description entries, e.g. `com.docker.dockerfile.v1.command`. */
  readonly description?: Readonly<Record<string, string>>;
  readonly ignoreCache?: boolean;
  readonly progressGroup?: { readonly id: string; readonly name: string; readonly weak?: boolean };
  /** Overrides the state's/definition's platform for platform-specific ops. */
  readonly platform?: Platform;
  readonly caps?: readonly string[];
}

export function buildMetadata(opts: OpOptions | undefined, caps: readonly string[]): PbOpMetadata {
  const md: PbOpMetadata = {};
  if (opts?.ignoreCache) md.ignore_cache = true;
  const description: Record<string, string> = { ...(opts?.description ?? {}) };
  if (opts?.customName !== undefined) description['llb.customname'] = opts.customName;
  if (Object.keys(description).length > 0) md.description = description;
  const allCaps = [...caps, ...(opts?.caps ?? [])];
  if (allCaps.length > 0) md.caps = Object.fromEntries(allCaps.map((c) => [c, true]));
  if (opts?.progressGroup) {
    md.progress_group = {
      id: opts.progressGroup.id,
      name: opts.progressGroup.name,
      ...(opts.progressGroup.weak ? { weak: true } : {}),
    };
  }
  return md;
}

/** Later metadata adds to earlier metadata for the same digest, as BuildKit's mergeMetadata does. */
export function mergeMetadata(a: PbOpMetadata | undefined, b: PbOpMetadata): PbOpMetadata {
  if (!a) return b;
  const out: PbOpMetadata = { ...a };
  if (b.ignore_cache) out.ignore_cache = true;
  if (b.description) out.description = { ...b.description, ...(a.description ?? {}) };
  if (b.caps) out.caps = { ...(a.caps ?? {}), ...b.caps };
  if (b.export_cache) out.export_cache = b.export_cache;
  if (b.progress_group) out.progress_group = b.progress_group;
  return out;
}
