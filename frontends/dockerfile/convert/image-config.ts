import type { Platform } from '../../../client/llb/platform.js';
import { InvalidArgumentError } from '../../../proto/errors.js';

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

/** ocispec History, in Go's field order (base images bring `created` and `author`). */
export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** dockerspec.DockerOCIImage as the Dockerfile frontend hands it to the exporter. */
export interface ImageConfig {
  author?: string;
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
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

/** JSON in Go's field order, without empty optional members (Go's omitempty), map keys sorted. */
export function serializeImageConfig(img: ImageConfig): Uint8Array {
  const c = img.config;
  const config: Record<string, unknown> = {};
  const put = (k: keyof ContainerConfig): void => {
    const v = c[k];
    if (v === undefined || v === null || v === '' || v === false) return;
    if (Array.isArray(v)) {
      if (v.length > 0) config[k] = v;
      return;
    }
    if (typeof v === 'object') {
      if (k === 'Healthcheck') config[k] = v;
      else if (Object.keys(v).length > 0) config[k] = sortKeys(v as Record<string, unknown>);
      return;
    }
    config[k] = v;
  };
  for (const k of containerConfigKeys) put(k);
  const out = {
    ...(img.author ? { author: img.author } : {}),
    architecture: img.architecture,
    os: img.os,
    ...(img['os.version'] ? { 'os.version': img['os.version'] } : {}),
    ...(img['os.features']?.length ? { 'os.features': img['os.features'] } : {}),
    ...(img.variant ? { variant: img.variant } : {}),
    config,
    rootfs: img.rootfs,
    ...(img.history.length > 0 ? { history: img.history.map(historyJson) } : {}),
  };
  return new TextEncoder().encode(JSON.stringify(out));
}

const containerConfigKeys = [
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
] as const satisfies readonly (keyof ContainerConfig)[];

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  // Go's encoding/json writes map keys in byte order.
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function historyJson(h: HistoryEntry): HistoryEntry {
  return {
    ...(h.created ? { created: h.created } : {}),
    ...(h.created_by ? { created_by: h.created_by } : {}),
    ...(h.author ? { author: h.author } : {}),
    ...(h.comment ? { comment: h.comment } : {}),
    ...(h.empty_layer ? { empty_layer: true } : {}),
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isRecord(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

function emptyObjectMap(v: unknown): Record<string, Record<string, never>> | undefined {
  if (!isRecord(v)) return undefined;
  return Object.fromEntries(Object.keys(v).map((k) => [k, {}]));
}

/**
 * A registry image's config JSON as BuildKit reads it into DockerOCIImage: the fields Kiln knows are
 * kept (unknown ones dropped, as Go's json.Unmarshal does), `created` is cleared.
 */
export function parseImageConfig(bytes: Uint8Array, fallback: Platform): ImageConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new InvalidArgumentError(
      `failed to parse image config: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  if (!isRecord(raw)) throw new InvalidArgumentError('failed to parse image config: not a JSON object');
  const rc = isRecord(raw.config) ? raw.config : {};
  const config: ContainerConfig = {};
  if (typeof rc.User === 'string') config.User = rc.User;
  const ports = emptyObjectMap(rc.ExposedPorts);
  if (ports) config.ExposedPorts = ports;
  if (isStringList(rc.Env)) config.Env = [...rc.Env];
  if (isStringList(rc.Entrypoint)) config.Entrypoint = [...rc.Entrypoint];
  if (isStringList(rc.Cmd)) config.Cmd = [...rc.Cmd];
  const volumes = emptyObjectMap(rc.Volumes);
  if (volumes) config.Volumes = volumes;
  if (typeof rc.WorkingDir === 'string') config.WorkingDir = rc.WorkingDir;
  const labels = stringMap(rc.Labels);
  if (labels) config.Labels = labels;
  if (typeof rc.StopSignal === 'string') config.StopSignal = rc.StopSignal;
  if (rc.ArgsEscaped === true) config.ArgsEscaped = true;
  if (isRecord(rc.Healthcheck)) {
    const h = rc.Healthcheck;
    const num = (v: unknown): number | undefined => (typeof v === 'number' && v !== 0 ? v : undefined);
    const hc: HealthcheckConfig = { Test: isStringList(h.Test) ? [...h.Test] : [] };
    const interval = num(h.Interval);
    const timeout = num(h.Timeout);
    const startPeriod = num(h.StartPeriod);
    const startInterval = num(h.StartInterval);
    const retries = num(h.Retries);
    if (interval !== undefined) hc.Interval = interval;
    if (timeout !== undefined) hc.Timeout = timeout;
    if (startPeriod !== undefined) hc.StartPeriod = startPeriod;
    if (startInterval !== undefined) hc.StartInterval = startInterval;
    if (retries !== undefined) hc.Retries = retries;
    config.Healthcheck = hc;
  }
  if (isStringList(rc.OnBuild)) config.OnBuild = [...rc.OnBuild];
  if (isStringList(rc.Shell)) config.Shell = [...rc.Shell];
  const rootfs = isRecord(raw.rootfs) ? raw.rootfs : {};
  const history = Array.isArray(raw.history) ? raw.history.filter(isRecord) : [];
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const img: ImageConfig = {
    architecture: str(raw.architecture) ?? fallback.architecture,
    os: str(raw.os) ?? fallback.os,
    config,
    rootfs: { type: 'layers', diff_ids: isStringList(rootfs.diff_ids) ? [...rootfs.diff_ids] : [] },
    history: history.map((h) => {
      const e: HistoryEntry = {};
      const created = str(h.created);
      const createdBy = str(h.created_by);
      const author = str(h.author);
      const comment = str(h.comment);
      if (created) e.created = created;
      if (createdBy) e.created_by = createdBy;
      if (author) e.author = author;
      if (comment) e.comment = comment;
      if (h.empty_layer === true) e.empty_layer = true;
      return e;
    }),
  };
  const author = str(raw.author);
  if (author) img.author = author;
  const variant = str(raw.variant);
  if (variant) img.variant = variant;
  const osVersion = str(raw['os.version']);
  if (osVersion) img['os.version'] = osVersion;
  if (isStringList(raw['os.features']) && raw['os.features'].length > 0)
    img['os.features'] = [...raw['os.features']];
  return img;
}
