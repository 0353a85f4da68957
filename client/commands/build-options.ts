import { statSync } from 'node:fs';
import { InvalidArgumentError } from '../../proto/errors.js';
import { parseCsvRecord, splitKeyValue } from './csv.js';

/** Where the client writes what an exporter sends back through the session. */
export type OutputTarget =
  | { readonly kind: 'none' }
  | { readonly kind: 'dir'; readonly dir: string }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'stdout' };

export interface ExportEntry {
  readonly type: string;
  /** Sent as SolveRequest.ExporterAttrs: `dest` is resolved client-side and removed. */
  readonly attrs: Readonly<Record<string, string>>;
  readonly target: OutputTarget;
}

export interface CacheOptionsEntry {
  readonly type: string;
  readonly attrs: Readonly<Record<string, string>>;
}

export interface SecretSource {
  readonly id: string;
  readonly filePath?: string;
  readonly env?: string;
}

export interface SshAgentConfig {
  readonly id: string;
  /** Socket or key paths; empty means $SSH_AUTH_SOCK. */
  readonly paths: readonly string[];
}

export const Entitlements = ['network.host', 'security.insecure'] as const;
export type Entitlement = (typeof Entitlements)[number];

export interface OutputParseEnv {
  /** buildctl refuses to write a tarball to a terminal. */
  readonly stdoutIsTTY: boolean;
}

/** `k=v` list → map (`--opt`, `--local`); later keys win, as in buildctl. */
export function parseAttrMap(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const [k, val] = splitKeyValue(v);
    out[k] = val;
  }
  return out;
}

function csvToTypeAndAttrs(value: string): { type: string; attrs: Record<string, string> } {
  let type = '';
  const attrs: Record<string, string> = {};
  for (const field of parseCsvRecord(value)) {
    const [rawKey, v] = splitKeyValue(field);
    const key = rawKey.toLowerCase();
    if (key === 'type') type = v;
    else attrs[key] = v;
  }
  return { type, attrs };
}

function parseBool(value: string | undefined): boolean | undefined {
  // Go's strconv.ParseBool accepts exactly these spellings.
  switch (value) {
    case '1':
    case 't':
    case 'T':
    case 'true':
    case 'TRUE':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'false':
    case 'FALSE':
    case 'False':
      return false;
    default:
      return undefined;
  }
}

function resolveDest(
  type: string,
  dest: string | undefined,
  attrs: Record<string, string>,
  env: OutputParseEnv,
): OutputTarget {
  let supportsFile = false;
  let supportsDir = false;
  switch (type) {
    case 'local':
      supportsDir = true;
      break;
    case 'tar':
      supportsFile = true;
      break;
    case 'oci':
    case 'docker': {
      const tar = parseBool(attrs.tar) ?? true;
      supportsFile = tar;
      supportsDir = !tar;
      break;
    }
    default:
      break;
  }
  if (supportsDir) {
    if (dest === undefined || dest === '')
      throw new InvalidArgumentError(`output directory is required for ${type} exporter`);
    return { kind: 'dir', dir: dest };
  }
  if (supportsFile) {
    if (dest !== undefined && dest !== '' && dest !== '-') {
      let isDir = false;
      try {
        isDir = statSync(dest).isDirectory();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw new InvalidArgumentError(`invalid destination file: ${dest}`, { cause: err });
        }
      }
      if (isDir) throw new InvalidArgumentError(`destination file is a directory: ${dest}`);
      return { kind: 'file', path: dest };
    }
    if (env.stdoutIsTTY) {
      throw new InvalidArgumentError(
        `output file is required for ${type} exporter. refusing to write to console`,
      );
    }
    return { kind: 'stdout' };
  }
  if (dest !== undefined && dest !== '')
    throw new InvalidArgumentError(`output ${dest} is not supported by ${type} exporter`);
  return { kind: 'none' };
}

/** One `--output type=…,k=v` value (buildctl build/output.go semantics). */
export function parseOutput(value: string, env: OutputParseEnv): ExportEntry {
  const { type, attrs } = csvToTypeAndAttrs(value);
  if (type === '') throw new InvalidArgumentError('--output requires type=<type>');
  const legacyOutput = attrs.output;
  if (legacyOutput !== undefined) {
    throw new InvalidArgumentError(
      `output=${legacyOutput} not supported for --output, you meant dest=${legacyOutput}?`,
    );
  }
  const target = resolveDest(type, attrs.dest, attrs, env);
  if (target.kind !== 'none') delete attrs.dest;
  return { type, attrs, target };
}

/** All `--output` values; BuildKit v0.11 accepts at most one exporter per build. */
export function parseOutputs(values: readonly string[], env: OutputParseEnv): ExportEntry | undefined {
  if (values.length > 1) throw new InvalidArgumentError('currently only single Exports can be specified');
  const first = values[0];
  return first === undefined ? undefined : parseOutput(first, env);
}

function addGithubEnv(attrs: Record<string, string>, environ: NodeJS.ProcessEnv): void {
  const url = environ.ACTIONS_CACHE_URL;
  const token = environ.ACTIONS_RUNTIME_TOKEN;
  if (attrs.url === undefined) {
    if (url === undefined)
      throw new InvalidArgumentError('missing url attribute for gha cache (or set ACTIONS_CACHE_URL)');
    attrs.url = url;
  }
  if (attrs.token === undefined) {
    if (token === undefined)
      throw new InvalidArgumentError('missing token attribute for gha cache (or set ACTIONS_RUNTIME_TOKEN)');
    attrs.token = token;
  }
}

/** `--export-cache`: CSV with `type=`, or a bare registry ref (legacy); `mode` defaults to `min`. */
export function parseExportCache(
  values: readonly string[],
  environ: NodeJS.ProcessEnv = process.env,
): CacheOptionsEntry[] {
  return values.map((value) => {
    if (!value.includes('type=')) return { type: 'registry', attrs: { ref: value } };
    const { type, attrs } = csvToTypeAndAttrs(value);
    if (type === '') throw new InvalidArgumentError('--export-cache requires type=<type>');
    if (attrs.mode === undefined) attrs.mode = 'min';
    if (type === 'gha') addGithubEnv(attrs, environ);
    return { type, attrs };
  });
}

/** `--import-cache`: CSV with `type=`, or a bare registry ref (legacy). */
export function parseImportCache(
  values: readonly string[],
  environ: NodeJS.ProcessEnv = process.env,
): CacheOptionsEntry[] {
  return values.map((value) => {
    if (!value.includes('type=')) return { type: 'registry', attrs: { ref: value } };
    const { type, attrs } = csvToTypeAndAttrs(value);
    if (type === '') throw new InvalidArgumentError('--import-cache requires type=<type>');
    if (type === 'gha') addGithubEnv(attrs, environ);
    return { type, attrs };
  });
}

/** `--secret id=x,src=path` / `id=x,env=VAR` / `type=env` (buildctl build/secret.go). */
export function parseSecret(value: string, environ: NodeJS.ProcessEnv = process.env): SecretSource {
  let type: 'file' | 'env' | undefined;
  let id = '';
  let filePath: string | undefined;
  let env: string | undefined;
  for (const field of parseCsvRecord(value)) {
    const eq = field.indexOf('=');
    if (eq === -1) throw new InvalidArgumentError(`invalid field '${field}' must be a key=value pair`);
    const key = field.slice(0, eq).toLowerCase();
    const v = field.slice(eq + 1);
    switch (key) {
      case 'type':
        if (v !== 'file' && v !== 'env') throw new InvalidArgumentError(`unsupported secret type "${v}"`);
        type = v;
        break;
      case 'id':
        id = v;
        break;
      case 'source':
      case 'src':
        filePath = v;
        break;
      case 'env':
        env = v;
        break;
      default:
        throw new InvalidArgumentError(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (type === 'env' && env === undefined) {
    env = filePath;
    filePath = undefined;
  }
  if (id === '') throw new InvalidArgumentError(`secret ID missing in '${value}'`);
  if (filePath === undefined && env === undefined) {
    if (environ[id] !== undefined) env = id;
    else filePath = id;
  }
  return { id, ...(filePath === undefined ? {} : { filePath }), ...(env === undefined ? {} : { env }) };
}

/** `--ssh default|<id>[=<socket>|<key>[,<key>]]`. */
export function parseSsh(value: string): SshAgentConfig {
  const eq = value.indexOf('=');
  if (eq === -1) return { id: value, paths: [] };
  return { id: value.slice(0, eq), paths: value.slice(eq + 1).split(',') };
}

/** `--allow network.host|security.insecure`. */
export function parseAllow(values: readonly string[]): Entitlement[] {
  return values.map((v) => {
    const found = Entitlements.find((e) => e === v);
    if (found === undefined) throw new InvalidArgumentError(`unknown entitlement ${v}`);
    return found;
  });
}
