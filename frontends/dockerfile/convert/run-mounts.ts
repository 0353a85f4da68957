import { InvalidArgumentError } from '../../../proto/errors.js';
import { suggestion } from '../instructions/suggest.js';

export const mountTypes = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'] as const;
export type MountType = (typeof mountTypes)[number];
export const sharingModes = ['shared', 'private', 'locked'] as const;
export type SharingMode = (typeof sharingModes)[number];

/** One `RUN --mount=…` as BuildKit's instructions.Mount holds it after parsing. */
export interface RunMount {
  readonly type: MountType;
  readonly from: string;
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
  readonly id: string;
  /** "" when not given (a cache mount then shares). */
  readonly sharing: SharingMode | '';
  readonly required: boolean;
  /** tmpfs size in bytes, 0 = unlimited. */
  readonly size: number;
  readonly mode: number | undefined;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  /** secret only: also (or, without a target, only) expose the secret as this env variable. */
  readonly env: string;
}

/** Go's encoding/csv for one record: commas separate fields, `"…"` quotes with `""` as a quote. */
export function parseCsvRecord(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length)
          throw new InvalidArgumentError(
            `failed to parse csv mounts: extraneous or missing " in quoted-field`,
          );
        const ch = line[i] as string;
        if (ch === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += ch;
        i++;
      }
      if (i < line.length && line[i] !== ',') {
        throw new InvalidArgumentError(`failed to parse csv mounts: extraneous or missing " in quoted-field`);
      }
    } else {
      const end = line.indexOf(',', i);
      field = end < 0 ? line.slice(i) : line.slice(i, end);
      if (field.includes('"'))
        throw new InvalidArgumentError(`failed to parse csv mounts: bare " in non-quoted-field`);
      i = end < 0 ? line.length : end;
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i++; // the comma
  }
}

/** docker/go-units RAMInBytes: `64m`, `1.5GiB`, `1024` (binary multiples). */
export function parseRamBytes(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)*) ?([kmgtp])?(i)?(b)?$/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (!Number.isFinite(n)) return undefined;
  const unit = (m[2] ?? '').toLowerCase();
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[unit] ?? 1;
  return Math.trunc(n * mult);
}

function parseBool(key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (['1', 't', 'true'].includes(v)) return true;
  if (['0', 'f', 'false'].includes(v)) return false;
  throw new InvalidArgumentError(`invalid value for ${key}: ${value}`);
}

function parseUint(value: string, radix: 8 | 10, what: string): number {
  const re = radix === 8 ? /^[0-7]+$/ : /^\d+$/;
  const n = re.test(value) ? Number.parseInt(value, radix) : Number.NaN;
  if (!Number.isFinite(n) || n > 0xffffffff)
    throw new InvalidArgumentError(`invalid value ${value} for ${what}`);
  return n;
}

const allKeys = [
  'type',
  'from',
  'source',
  'target',
  'readonly',
  'id',
  'sharing',
  'required',
  'size',
  'mode',
  'uid',
  'gid',
  'src',
  'dst',
  'destination',
  'ro',
  'rw',
  'readwrite',
];

/**
 * Parses one `--mount` value (instructions/commands_runmount.go parseMount). `expand` expands
 * variables in values; `from` never expands (a `$` there is an error, as in BuildKit).
 */
export function parseRunMount(value: string, expand: (word: string) => string): RunMount {
  let type: MountType = 'bind';
  let from = '';
  let source = '';
  let target = '';
  let readOnly = false;
  let roAuto = true;
  let id = '';
  let env = '';
  let sharing: SharingMode | '' = '';
  let required = false;
  let size = 0;
  let mode: number | undefined;
  let uid: number | undefined;
  let gid: number | undefined;
  for (const field of parseCsvRecord(value)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      switch (key) {
        case 'readonly':
        case 'ro':
          readOnly = true;
          roAuto = false;
          continue;
        case 'readwrite':
        case 'rw':
          readOnly = false;
          roAuto = false;
          continue;
        case 'required':
          if (type === 'secret' || type === 'ssh') {
            required = true;
            continue;
          }
          throw new InvalidArgumentError(`unexpected key '${key}' for mount type '${type}'`);
        default:
          throw new InvalidArgumentError(`invalid field '${field}' must be a key=value pair`);
      }
    }
    const raw = field.slice(eq + 1);
    if (key === 'from' && /\$./.test(raw)) {
      throw new InvalidArgumentError(
        `'${key}' doesn't support variable expansion, define alias stage instead`,
      );
    }
    const v = key === 'from' ? raw : expand(raw);
    switch (key) {
      case 'type': {
        const t = v.toLowerCase();
        if (!(mountTypes as readonly string[]).includes(t)) {
          const hint = suggestion(v, mountTypes);
          throw new InvalidArgumentError(
            `unsupported mount type "${v}"${hint ? ` (did you mean ${hint}?)` : ''}`,
          );
        }
        type = t as MountType;
        break;
      }
      case 'from':
        from = v;
        break;
      case 'source':
      case 'src':
        source = v;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        target = v;
        break;
      case 'readonly':
      case 'ro':
        readOnly = parseBool(key, v);
        roAuto = false;
        break;
      case 'readwrite':
      case 'rw':
        readOnly = !parseBool(key, v);
        roAuto = false;
        break;
      case 'required':
        if (type !== 'secret' && type !== 'ssh') {
          throw new InvalidArgumentError(`unexpected key '${key}' for mount type '${type}'`);
        }
        required = parseBool(key, v);
        break;
      case 'size': {
        if (type !== 'tmpfs')
          throw new InvalidArgumentError(`unexpected key '${key}' for mount type '${type}'`);
        const n = parseRamBytes(v);
        if (n === undefined) throw new InvalidArgumentError(`invalid value for ${key}: ${v}`);
        size = n;
        break;
      }
      case 'id':
        id = v;
        break;
      case 'env':
        env = v;
        break;
      case 'sharing': {
        const s = v.toLowerCase();
        if (!(sharingModes as readonly string[]).includes(s)) {
          const hint = suggestion(v, sharingModes);
          throw new InvalidArgumentError(
            `unsupported sharing value "${v}"${hint ? ` (did you mean ${hint}?)` : ''}`,
          );
        }
        sharing = s as SharingMode;
        break;
      }
      case 'mode':
        mode = parseUint(v, 8, 'mode');
        break;
      case 'uid':
        uid = parseUint(v, 10, 'uid');
        break;
      case 'gid':
        gid = parseUint(v, 10, 'gid');
        break;
      default: {
        const hint = suggestion(key, allKeys);
        throw new InvalidArgumentError(
          `unexpected key '${key}' in '${field}'${hint ? ` (did you mean ${hint}?)` : ''}`,
        );
      }
    }
  }
  if (env !== '' && type !== 'secret')
    throw new InvalidArgumentError(`env not allowed for "${type}" type mounts`);
  const fileInfoAllowed = type === 'secret' || type === 'ssh' || type === 'cache';
  if (!fileInfoAllowed) {
    if (mode !== undefined) throw new InvalidArgumentError(`mode not allowed for "${type}" type mounts`);
    if (uid !== undefined) throw new InvalidArgumentError(`uid not allowed for "${type}" type mounts`);
    if (gid !== undefined) throw new InvalidArgumentError(`gid not allowed for "${type}" type mounts`);
  }
  if (roAuto) readOnly = !(type === 'cache' || type === 'tmpfs');
  if (type === 'secret') {
    if (from !== '') throw new InvalidArgumentError('secret mount should not have a from');
    if (sharing !== '') throw new InvalidArgumentError('secret mount should not define sharing');
    if (source === '' && target === '' && id === '' && env === '') {
      throw new InvalidArgumentError('invalid secret mount. one of source, target required');
    }
    if (source !== '' && id !== '') throw new InvalidArgumentError("both source and id can't be set");
  }
  if (sharing !== '' && type !== 'cache') {
    throw new InvalidArgumentError(`invalid cache sharing set for ${type} mount`);
  }
  if (type === 'cache' && id === '') id = cleanTarget(target);
  return { type, from, source, target, readOnly, id, sharing, required, size, mode, uid, gid, env };
}

function cleanTarget(target: string): string {
  if (target === '') return '.';
  const abs = target.startsWith('/');
  const parts: string[] = [];
  for (const p of target.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
      else if (!abs) parts.push('..');
      continue;
    }
    parts.push(p);
  }
  const joined = parts.join('/');
  return abs ? `/${joined}` : joined || '.';
}

/** `from=` of a mount that refers to another state (stage or image); tmpfs never does. */
export function mountFrom(m: Pick<RunMount, 'type' | 'from'>): string {
  if (m.type === 'tmpfs') return '';
  if (m.from === '' && m.type === 'cache') return 'scratch';
  return m.from;
}
