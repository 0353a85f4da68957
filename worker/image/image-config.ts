import { InvalidArgumentError } from '../../proto/errors.js';
import type { LayerDescriptor } from '../../daemon/solver/types.js';

/** One entry of the image config's `history` (OCI image-spec field names). */
export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** A ref of the result's chain (base first) with its layer; `empty` when its diff had no entries. */
export interface ChainLayer {
  readonly descriptor: LayerDescriptor;
  readonly empty: boolean;
  /** What made the ref (shown as `created_by` when the frontend's history has no entry for it). */
  readonly description?: string;
  readonly createdAt?: Date;
}

export interface ImageConfigOptions {
  /** Time stamped on entries that have none. */
  readonly now: Date;
  /** SOURCE_DATE_EPOCH: nothing in the image is dated after it; the image itself is dated at it. */
  readonly epoch?: Date;
}

export interface AssembledConfig {
  /** The config object, ready for canonical JSON. */
  readonly config: Record<string, unknown>;
  /** The layers that go into the manifest (empty diffs dropped), base first. */
  readonly layers: readonly LayerDescriptor[];
}

const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** GOARCH names, as image configs spell them. */
function hostArch(): string {
  switch (process.arch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return '386';
    default:
      return process.arch; // arm64, arm, ppc64, s390x, riscv64 spell the same
  }
}

/** What BuildKit uses when the frontend gave no config: host platform, PATH, WorkingDir `/`. */
export function emptyImageConfig(): Record<string, unknown> {
  return {
    architecture: hostArch(),
    os: 'linux',
    config: { Env: [`PATH=${defaultPath}`], WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [] },
  };
}

export function parseImageConfig(bytes: Uint8Array | undefined): Record<string, unknown> {
  if (bytes === undefined || bytes.byteLength === 0) return emptyImageConfig();
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new InvalidArgumentError(`invalid image config from the frontend: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidArgumentError('invalid image config from the frontend: not a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function parseHistory(value: unknown): HistoryEntry[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    throw new InvalidArgumentError('invalid image config from the frontend: history is not a list');
  return value.map((h): HistoryEntry => {
    if (h === null || typeof h !== 'object') {
      throw new InvalidArgumentError(
        'invalid image config from the frontend: history entry is not an object',
      );
    }
    const e = h as Record<string, unknown>;
    const out: HistoryEntry = {};
    if (typeof e.created === 'string') out.created = e.created;
    if (typeof e.created_by === 'string') out.created_by = e.created_by;
    if (typeof e.author === 'string') out.author = e.author;
    if (typeof e.comment === 'string') out.comment = e.comment;
    if (e.empty_layer === true) out.empty_layer = true;
    return out;
  });
}

/**
 * Lines the history up with the layers, as BuildKit's normalizeLayersAndHistory does: the n-th
 * non-empty history entry describes the n-th ref of the chain. Extra non-empty entries (more than
 * the chain has) become empty from the bottom; missing ones are added at the end from the refs.
 * A ref whose diff was empty contributes no layer: its entry is marked `empty_layer`. Entries with
 * no time get the first new layer's time (or the previous entry's), and with an epoch nothing is
 * dated after it.
 */
export function normalizeHistory(
  history: readonly HistoryEntry[],
  chain: readonly ChainLayer[],
  opts: ImageConfigOptions,
): { history: HistoryEntry[]; layers: LayerDescriptor[] } {
  let entries = history.map((h) => ({ ...h }));
  const historyLayers = entries.filter((h) => h.empty_layer !== true).length;
  if (historyLayers > chain.length) {
    let seen = 0;
    entries = entries.map((h) => {
      if (h.empty_layer === true) return h;
      if (seen >= chain.length) return { ...h, empty_layer: true };
      seen++;
      return h;
    });
  }
  for (const ref of chain.slice(Math.min(historyLayers, chain.length))) {
    entries.push({
      ...(ref.createdAt ? { created: ref.createdAt.toISOString() } : {}),
      created_by: ref.description ?? 'created by kiln',
      comment: 'buildkit.exporter.image.v0',
    });
  }
  const layers: LayerDescriptor[] = [];
  let index = 0;
  for (const h of entries) {
    if (h.empty_layer === true) continue;
    const ref = chain[index++];
    if (!ref) continue;
    if (h.created === undefined && ref.createdAt) h.created = ref.createdAt.toISOString();
    if (ref.empty) h.empty_layer = true;
    else layers.push(ref.descriptor);
  }
  // The first time that follows an undated entry (a new layer after base-image history), else the last.
  let fill: string | undefined;
  let sawUndated = false;
  for (const h of entries) {
    if (h.created !== undefined) {
      fill = h.created;
      if (sawUndated) break;
    } else {
      sawUndated = true;
    }
  }
  fill ??= (opts.epoch ?? opts.now).toISOString();
  sawUndated = false;
  for (const h of entries) {
    if (h.created !== undefined) {
      if (sawUndated) fill = h.created;
    } else {
      sawUndated = true;
      h.created = fill;
    }
  }
  if (opts.epoch) {
    const epoch = opts.epoch;
    for (const h of entries) {
      if (h.created === undefined || Date.parse(h.created) > epoch.getTime()) h.created = epoch.toISOString();
    }
  }
  return { history: entries, layers };
}

/**
 * The final config: the frontend's (or an empty one) with `rootfs.diff_ids` for the kept layers,
 * the normalised history and `created` (the epoch when given, else the frontend's value, else the
 * last history entry's time).
 */
export function assembleImageConfig(
  frontendConfig: Uint8Array | undefined,
  chain: readonly ChainLayer[],
  opts: ImageConfigOptions,
): AssembledConfig {
  const config = parseImageConfig(frontendConfig);
  const { history, layers } = normalizeHistory(parseHistory(config.history), chain, opts);
  config.rootfs = { type: 'layers', diff_ids: layers.map((l) => l.diffID) };
  config.history = history;
  if (opts.epoch) config.created = opts.epoch.toISOString();
  else if (typeof config.created !== 'string') {
    config.created = history.at(-1)?.created ?? opts.now.toISOString();
  }
  return { config, layers };
}
