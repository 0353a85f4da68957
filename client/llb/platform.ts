import type { PbPlatform } from './pb-types.js';

/** An OCI platform, as LLB ops carry it. */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export const defaultPlatform: Platform = { os: 'linux', architecture: 'amd64' };

export function platformToPb(p: Platform): PbPlatform {
  return {
    Architecture: p.architecture,
    OS: p.os,
    ...(p.variant ? { Variant: p.variant } : {}),
  };
}

export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}
