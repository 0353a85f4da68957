/**
 * The parts of an image's config that a Dockerfile decides, as `docker image inspect` and
 * `docker history` show them, so Kiln's image and docker's BuildKit image can be compared field by
 * field.
 */

/** `Config` fields a Dockerfile sets; everything else (Hostname, Image, …) is the engine's. */
export const configFields = [
  'Env',
  'Cmd',
  'Entrypoint',
  'WorkingDir',
  'User',
  'Labels',
  'ExposedPorts',
  'Volumes',
  'StopSignal',
  'Healthcheck',
  'OnBuild',
  'Shell',
] as const;

export type ConfigField = (typeof configFields)[number];

export interface ImageFacts {
  readonly config: Readonly<Record<ConfigField, unknown>>;
  readonly os: unknown;
  readonly architecture: unknown;
  /** Number of filesystem layers (RootFS.Layers). */
  readonly layers: number;
  /** `created_by` of each history entry, oldest first. */
  readonly history: readonly string[];
}

interface InspectJson {
  Config?: Record<string, unknown>;
  Os?: unknown;
  Architecture?: unknown;
  RootFS?: { Layers?: unknown[] };
}

interface HistoryJson {
  CreatedBy?: string;
}

/** Empty values the engines spell differently (null, {}, [], "") mean "unset" alike. */
function canonical(v: unknown): unknown {
  if (v === undefined || v === null || v === '') return null;
  if (Array.isArray(v)) return v.length === 0 ? null : v;
  if (typeof v === 'object' && Object.keys(v).length === 0) return null;
  return v;
}

export function parseImageFacts(inspectOutput: string, historyOutput: string): ImageFacts {
  const parsed = JSON.parse(inspectOutput) as InspectJson[];
  const inspect = parsed[0];
  if (!inspect) throw new Error(`docker image inspect printed no image: ${inspectOutput}`);
  const cfg = inspect.Config ?? {};
  const config = Object.fromEntries(configFields.map((f) => [f, canonical(cfg[f])])) as Record<
    ConfigField,
    unknown
  >;
  // docker history lists newest first.
  const history = historyOutput
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => (JSON.parse(l) as HistoryJson).CreatedBy ?? '')
    .reverse();
  return {
    config,
    os: inspect.Os,
    architecture: inspect.Architecture,
    layers: inspect.RootFS?.Layers?.length ?? 0,
    history,
  };
}

const stable = (v: unknown): string =>
  JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : val,
  );

/** One line per config field that differs: `Config.Cmd: kiln=… docker=…`. */
export function diffConfig(kiln: ImageFacts, docker: ImageFacts): string[] {
  const out: string[] = [];
  for (const f of configFields) {
    const k = stable(kiln.config[f]);
    const d = stable(docker.config[f]);
    if (k !== d) out.push(`Config.${f}: kiln=${k} docker=${d}`);
  }
  if (stable(kiln.os) !== stable(docker.os))
    out.push(`Os: kiln=${stable(kiln.os)} docker=${stable(docker.os)}`);
  if (stable(kiln.architecture) !== stable(docker.architecture))
    out.push(`Architecture: kiln=${stable(kiln.architecture)} docker=${stable(docker.architecture)}`);
  return out;
}

/**
 * Layer count, history length and each history entry's `created_by` (the Dockerfile step that made
 * it); docker's BuildKit and Kiln both name steps the way BuildKit does, so they should agree.
 */
export function diffHistory(kiln: ImageFacts, docker: ImageFacts): string[] {
  const out: string[] = [];
  if (kiln.layers !== docker.layers) out.push(`layers: kiln=${kiln.layers} docker=${docker.layers}`);
  if (kiln.history.length !== docker.history.length)
    out.push(`history length: kiln=${kiln.history.length} docker=${docker.history.length}`);
  const n = Math.max(kiln.history.length, docker.history.length);
  for (let i = 0; i < n; i++) {
    const k = kiln.history[i];
    const d = docker.history[i];
    if (k !== d) out.push(`history[${i}].created_by: kiln=${JSON.stringify(k)} docker=${JSON.stringify(d)}`);
  }
  return out;
}
