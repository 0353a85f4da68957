import type { Platform } from '../../../client/llb/platform.js';

export const defaultPathEnv = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const historyComment = 'buildkit.dockerfile.v0';

export interface HealthcheckConfig {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The `config` object of an OCI/Docker image config, in Go's field order. */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: HealthcheckConfig;
  OnBuild?: string[];
  Shell?: string[];
}

export interface HistoryEntry {
  created_by: string;
  comment: string;
  empty_layer?: boolean;
}

/** dockerspec.DockerOCIImage as the Dockerfile frontend hands it to the exporter. */
export interface ImageConfig {
  author?: string;
  architecture: string;
  variant?: string;
  os: string;
  config: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history: HistoryEntry[];
}

export function emptyImage(platform: Platform): ImageConfig {
  return {
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    os: platform.os,
    config: { Env: [`PATH=${defaultPathEnv}`], WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
}

export function cloneImage(img: ImageConfig): ImageConfig {
  return structuredClone(img);
}

/** Replaces `k=…` in place or appends, like BuildKit's addEnv. */
export function addEnv(env: readonly string[] | undefined, key: string, value: string): string[] {
  const out = [...(env ?? [])];
  const i = out.findIndex((e) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e) === key);
  if (i >= 0) out[i] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

export function commitToHistory(
  img: ImageConfig,
  message: string,
  withLayer: boolean,
  fromState: boolean,
): void {
  img.history.push({
    created_by: fromState ? `${message} # buildkit` : message,
    comment: historyComment,
    ...(withLayer ? {} : { empty_layer: true }),
  });
}

/** JSON in Go's field order, without empty optional members (Go's omitempty). */
export function serializeImageConfig(img: ImageConfig): Uint8Array {
  const c = img.config;
  const config: Record<string, unknown> = {};
  const put = (k: keyof ContainerConfig): void => {
    const v = c[k];
    if (v === undefined || v === '' || v === false) return;
    if (Array.isArray(v) && v.length === 0) return;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) return;
    if (v === null) return;
    config[k] = v;
  };
  for (const k of [
    'User',
    'ExposedPorts',
    'Env',
    'Entrypoint',
    'Cmd',
    'Volumes',
    'WorkingDir',
    'Labels',
    'StopSignal',
    'ArgsEscaped',
    'Healthcheck',
    'OnBuild',
    'Shell',
  ] as const) {
    put(k);
  }
  const out = {
    ...(img.author ? { author: img.author } : {}),
    architecture: img.architecture,
    ...(img.variant ? { variant: img.variant } : {}),
    os: img.os,
    config,
    rootfs: img.rootfs,
    history: img.history,
  };
  return new TextEncoder().encode(JSON.stringify(out));
}
