import { readFile } from 'node:fs/promises';
import { parse as parseToml, TomlError } from 'smol-toml';
import { InvalidArgumentError } from '../../proto/errors.js';

/** Registry host settings, as buildkitd.toml's `[registry."host"]`. */
export interface RegistryConfig {
  readonly http: boolean;
  readonly insecure: boolean;
  readonly mirrors: readonly string[];
}

export interface DaemonConfig {
  readonly root: string;
  readonly addresses: readonly string[];
  readonly debug: boolean;
  readonly maxParallelism: number | undefined;
  readonly snapshotter: 'auto' | 'native' | 'overlayfs';
  readonly registries: ReadonlyMap<string, RegistryConfig>;
  readonly insecureEntitlements: readonly string[];
  readonly tls: { readonly cert?: string; readonly key?: string; readonly ca?: string };
}

export const defaultConfig: DaemonConfig = {
  root: '/var/lib/kiln',
  addresses: ['unix:///run/kiln/kilnd.sock'],
  debug: false,
  maxParallelism: undefined,
  snapshotter: 'auto',
  registries: new Map(),
  insecureEntitlements: [],
  tls: {},
};

/** Keys of buildkitd.toml that Kiln reads; anything else gets a warning, not an error. */
const knownTopLevel = new Set(['root', 'debug', 'grpc', 'worker', 'registry', 'insecure-entitlements']);
const knownGrpc = new Set(['address', 'tls', 'uid', 'gid', 'debugAddress']);
const knownWorkerOci = new Set([
  'enabled',
  'snapshotter',
  'max-parallelism',
  'gc',
  'gckeepstorage',
  'gcpolicy',
  'labels',
  'platforms',
  'binary',
  'rootless',
  'networkMode',
]);
const knownRegistry = new Set(['http', 'insecure', 'mirrors', 'ca', 'keypair', 'tlsconfigdir']);

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function expect<T>(
  file: string,
  key: string,
  v: unknown,
  kind: 'string' | 'boolean' | 'number' | 'string[]',
): T {
  const ok =
    kind === 'string[]'
      ? Array.isArray(v) && v.every((x) => typeof x === 'string')
      : kind === 'number'
        ? typeof v === 'number' || typeof v === 'bigint'
        : typeof v === kind;
  if (!ok) throw new InvalidArgumentError(`${file}: ${key} must be a ${kind}, got ${JSON.stringify(v)}`);
  return (typeof v === 'bigint' ? Number(v) : v) as T;
}

/**
 * Parses a kilnd.toml (which accepts buildkitd.toml's keys). Unknown keys are reported through
 * `warn` and otherwise ignored, so a buildkitd.toml can be used as it is.
 */
export function parseConfig(text: string, file: string, warn: (msg: string) => void): Partial<DaemonConfig> {
  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (err) {
    const where = err instanceof TomlError ? ` at line ${err.line}, column ${err.column}` : '';
    throw new InvalidArgumentError(
      `${file}: invalid TOML${where}: ${(err as Error).message.split('\n')[0]}`,
      {
        cause: err,
      },
    );
  }
  const out: { -readonly [K in keyof DaemonConfig]?: DaemonConfig[K] } = {};
  for (const key of Object.keys(doc))
    if (!knownTopLevel.has(key)) warn(`${file}: unknown key "${key}" ignored`);
  if (doc.root !== undefined) out.root = expect<string>(file, 'root', doc.root, 'string');
  if (doc.debug !== undefined) out.debug = expect<boolean>(file, 'debug', doc.debug, 'boolean');
  if (doc['insecure-entitlements'] !== undefined) {
    out.insecureEntitlements = expect<string[]>(
      file,
      'insecure-entitlements',
      doc['insecure-entitlements'],
      'string[]',
    );
  }
  const grpc = doc.grpc;
  if (isTable(grpc)) {
    for (const key of Object.keys(grpc))
      if (!knownGrpc.has(key)) warn(`${file}: unknown key "grpc.${key}" ignored`);
    if (grpc.address !== undefined)
      out.addresses = expect<string[]>(file, 'grpc.address', grpc.address, 'string[]');
    if (isTable(grpc.tls)) {
      const tls: { cert?: string; key?: string; ca?: string } = {};
      for (const k of ['cert', 'key', 'ca'] as const) {
        const v = grpc.tls[k];
        if (v !== undefined) tls[k] = expect<string>(file, `grpc.tls.${k}`, v, 'string');
      }
      out.tls = tls;
    }
  }
  const worker = doc.worker;
  if (isTable(worker)) {
    for (const key of Object.keys(worker)) {
      if (key !== 'oci' && key !== 'containerd') warn(`${file}: unknown key "worker.${key}" ignored`);
    }
    if (isTable(worker.containerd)) warn(`${file}: [worker.containerd] is not supported by kilnd; ignored`);
    const oci = worker.oci;
    if (isTable(oci)) {
      for (const key of Object.keys(oci)) {
        if (!knownWorkerOci.has(key)) warn(`${file}: unknown key "worker.oci.${key}" ignored`);
      }
      if (oci['max-parallelism'] !== undefined) {
        out.maxParallelism = expect<number>(
          file,
          'worker.oci.max-parallelism',
          oci['max-parallelism'],
          'number',
        );
      }
      if (oci.snapshotter !== undefined) {
        const s = expect<string>(file, 'worker.oci.snapshotter', oci.snapshotter, 'string');
        if (s !== 'auto' && s !== 'native' && s !== 'overlayfs') {
          throw new InvalidArgumentError(
            `${file}: worker.oci.snapshotter must be auto, native or overlayfs, got "${s}"`,
          );
        }
        out.snapshotter = s;
      }
    }
  }
  const registry = doc.registry;
  if (isTable(registry)) {
    const registries = new Map<string, RegistryConfig>();
    for (const [host, value] of Object.entries(registry)) {
      if (!isTable(value)) throw new InvalidArgumentError(`${file}: registry."${host}" must be a table`);
      for (const key of Object.keys(value)) {
        if (!knownRegistry.has(key)) warn(`${file}: unknown key "registry.${host}.${key}" ignored`);
      }
      registries.set(host, {
        http:
          value.http === undefined
            ? false
            : expect<boolean>(file, `registry.${host}.http`, value.http, 'boolean'),
        insecure:
          value.insecure === undefined
            ? false
            : expect<boolean>(file, `registry.${host}.insecure`, value.insecure, 'boolean'),
        mirrors:
          value.mirrors === undefined
            ? []
            : expect<string[]>(file, `registry.${host}.mirrors`, value.mirrors, 'string[]'),
      });
    }
    out.registries = registries;
  }
  return out;
}

export async function loadConfigFile(
  file: string,
  warn: (msg: string) => void,
  signal: AbortSignal,
): Promise<Partial<DaemonConfig>> {
  let text: string;
  try {
    text = await readFile(file, { encoding: 'utf8', signal });
  } catch (err) {
    throw new InvalidArgumentError(`cannot read config file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseConfig(text, file, warn);
}
