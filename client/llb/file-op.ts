import { posix } from 'node:path';
import { buildMetadata, type OpOptions } from './op-options.js';
import { cleanPath, normalizePath } from './paths.js';
import type {
  PbChownOpt,
  PbFileAction,
  PbFileActionCopy,
  PbOp,
  PbOpMetadata,
  PbUserOpt,
} from './pb-types.js';
import type { State } from './state.js';
import type { MarshalContext, Output, Vertex } from './vertex.js';

export type UserSpec = { readonly uid: number } | { readonly name: string };

export interface ChownSpec {
  readonly user?: UserSpec;
  readonly group?: UserSpec;
}

/** `user[:group]` as COPY --chown and WORKDIR-under-USER write it; numbers (and `root`) are ids. */
export function parseChown(spec: string): ChownSpec {
  const [user, group] = splitOnce(spec, ':');
  const toSpec = (v: string): UserSpec => {
    if (v === 'root') return { uid: 0 };
    if (/^[+-]?\d+$/.test(v)) {
      const n = Number(v);
      if (n >= -2147483648 && n <= 2147483647) return { uid: n };
    }
    return { name: v };
  };
  return { user: toSpec(user), ...(group !== undefined ? { group: toSpec(group) } : {}) };
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + sep.length)];
}

export interface MkdirOptions {
  readonly makeParents?: boolean;
  readonly owner?: ChownSpec;
  /** unix ns */
  readonly createdTime?: number;
}

export interface MkfileOptions {
  readonly owner?: ChownSpec;
  readonly createdTime?: number;
}

export interface RmOptions {
  readonly allowNotFound?: boolean;
  readonly allowWildcard?: boolean;
}

/** Every FileActionCopy knob. */
export interface CopyOptions {
  /** Permission bits to force; absent keeps the source mode (-1 on the wire). */
  readonly mode?: number;
  readonly modeStr?: string;
  readonly followSymlinks?: boolean;
  readonly dirCopyContents?: boolean;
  readonly attemptUnpack?: boolean;
  readonly createDestPath?: boolean;
  readonly allowWildcard?: boolean;
  readonly allowEmptyWildcard?: boolean;
  readonly includePatterns?: readonly string[];
  readonly excludePatterns?: readonly string[];
  readonly requiredPaths?: readonly string[];
  readonly alwaysReplaceExistingDestPaths?: boolean;
  readonly owner?: ChownSpec;
  readonly createdTime?: number;
}

export type FileActionSpec =
  | { readonly kind: 'mkdir'; readonly path: string; readonly mode: number; readonly opts: MkdirOptions }
  | {
      readonly kind: 'mkfile';
      readonly path: string;
      readonly mode: number;
      readonly data: Uint8Array;
      readonly opts: MkfileOptions;
    }
  | { readonly kind: 'rm'; readonly path: string; readonly opts: RmOptions }
  | {
      readonly kind: 'copy';
      readonly source: State;
      readonly src: string;
      readonly dest: string;
      readonly opts: CopyOptions;
    };

/** An immutable chain of file actions; each method appends one and returns the new chain. */
export class FileAction {
  readonly prev: FileAction | undefined;
  readonly spec: FileActionSpec;

  constructor(prev: FileAction | undefined, spec: FileActionSpec) {
    this.prev = prev;
    this.spec = spec;
  }

  mkdir(path: string, mode: number, opts: MkdirOptions = {}): FileAction {
    return new FileAction(this, { kind: 'mkdir', path, mode, opts });
  }

  mkfile(path: string, mode: number, data: Uint8Array | string, opts: MkfileOptions = {}): FileAction {
    return new FileAction(this, { kind: 'mkfile', path, mode, data: toBytes(data), opts });
  }

  rm(path: string, opts: RmOptions = {}): FileAction {
    return new FileAction(this, { kind: 'rm', path, opts });
  }

  copy(source: State, src: string, dest: string, opts: CopyOptions = {}): FileAction {
    return new FileAction(this, { kind: 'copy', source, src, dest, opts });
  }

  /** Oldest action first. */
  toArray(): FileActionSpec[] {
    const out: FileActionSpec[] = this.prev ? this.prev.toArray() : [];
    out.push(this.spec);
    return out;
  }
}

function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? new TextEncoder().encode(data) : data;
}

export function mkdir(path: string, mode: number, opts: MkdirOptions = {}): FileAction {
  return new FileAction(undefined, { kind: 'mkdir', path, mode, opts });
}

export function mkfile(
  path: string,
  mode: number,
  data: Uint8Array | string,
  opts: MkfileOptions = {},
): FileAction {
  return new FileAction(undefined, { kind: 'mkfile', path, mode, data: toBytes(data), opts });
}

export function rm(path: string, opts: RmOptions = {}): FileAction {
  return new FileAction(undefined, { kind: 'rm', path, opts });
}

export function copy(source: State, src: string, dest: string, opts: CopyOptions = {}): FileAction {
  return new FileAction(undefined, { kind: 'copy', source, src, dest, opts });
}

const capFileBase = 'file.base';
const capCopyIncludeExclude = 'file.copy.includeexcludepatterns';
const capCopyReplace = 'file.copy.alwaysreplaceexistingdestpaths';

/** One FileOp: the actions bound to the state they were applied to. */
export class FileOpVertex implements Vertex {
  readonly #base: State;
  readonly #actions: readonly FileActionSpec[];
  readonly #opts: OpOptions | undefined;
  readonly inputs: readonly Output[];

  constructor(base: State, action: FileAction, opts: OpOptions | undefined) {
    this.#base = base;
    this.#actions = action.toArray();
    this.#opts = opts;
    // BuildKit walks the chain from the last action back; keep its order so defs list ops alike.
    const inputs: Output[] = [];
    const add = (o: Output | undefined): void => {
      if (!o || inputs.some((x) => x.vertex === o.vertex && x.index === o.index)) return;
      inputs.push(o);
    };
    for (let i = this.#actions.length - 1; i >= 0; i--) {
      add(base.output);
      const a = this.#actions[i];
      if (a?.kind === 'copy') add(a.source.output);
    }
    this.inputs = inputs;
  }

  marshal(ctx: MarshalContext): { op: PbOp; metadata: PbOpMetadata } {
    const inputs: { digest: string; index?: number }[] = [];
    const addInput = (o: Output): number => {
      const inp = ctx.input(o);
      const found = inputs.findIndex((x) => x.digest === inp.digest && (x.index ?? 0) === (inp.index ?? 0));
      if (found >= 0) return found;
      inputs.push(inp);
      return inputs.length - 1;
    };
    const parent = this.#base.getDir();
    type Pending = { input: number | { rel: number }; secondary: number; base: number };
    const pending: Pending[] = [];
    const caps = new Set<string>([capFileBase]);
    this.#actions.forEach((a, k) => {
      const base = this.#base.output ? addInput(this.#base.output) : -1;
      const input = k === 0 ? base : { rel: k - 1 };
      let secondary = -1;
      if (a.kind === 'copy') {
        if (a.source.output) secondary = addInput(a.source.output);
        if (a.opts.includePatterns?.length || a.opts.excludePatterns?.length) caps.add(capCopyIncludeExclude);
        if (a.opts.alwaysReplaceExistingDestPaths) caps.add(capCopyReplace);
      }
      pending.push({ input, secondary, base });
    });
    const n = inputs.length;
    const actions: PbFileAction[] = this.#actions.map((a, k) => {
      const p = pending[k] as Pending;
      const input = typeof p.input === 'number' ? p.input : n + p.input.rel;
      const output = k === this.#actions.length - 1 ? 0 : -1;
      const fa: PbFileAction = { input, secondaryInput: p.secondary, output };
      if (output === 0) delete fa.output;
      if (input === 0) delete fa.input;
      if (p.secondary === 0) delete fa.secondaryInput;
      switch (a.kind) {
        case 'mkdir':
          fa.mkdir = {
            path: normalizePath(parent, a.path, false),
            ...nz('mode', a.mode & 0o777),
            ...(a.opts.makeParents ? { makeParents: true } : {}),
            ...owner(a.opts.owner, p.base),
            timestamp: a.opts.createdTime ?? -1,
          };
          break;
        case 'mkfile':
          fa.mkfile = {
            path: normalizePath(parent, a.path, false),
            ...nz('mode', a.mode & 0o777),
            ...(a.data.length > 0 ? { data: a.data } : {}),
            ...owner(a.opts.owner, p.base),
            timestamp: a.opts.createdTime ?? -1,
          };
          break;
        case 'rm':
          fa.rm = {
            path: normalizePath(parent, a.path, false),
            ...(a.opts.allowNotFound ? { allowNotFound: true } : {}),
            ...(a.opts.allowWildcard ? { allowWildcard: true } : {}),
          };
          break;
        case 'copy':
          fa.copy = copyAction(a.source, a.src, a.dest, a.opts, parent, p.base);
          break;
        default: {
          const never: never = a;
          throw new Error(`unknown file action ${String(never)}`);
        }
      }
      return fa;
    });
    const op: PbOp = { file: { actions } };
    if (inputs.length > 0) op.inputs = inputs;
    return { op, metadata: buildMetadata(this.#opts, [...caps]) };
  }
}

function copyAction(
  source: State,
  src: string,
  dest: string,
  o: CopyOptions,
  parent: string,
  base: number,
): PbFileActionCopy {
  let s = cleanPath(src);
  if (!posix.isAbsolute(s)) s = posix.join(source.getDir(), s);
  const c: PbFileActionCopy = {
    src: s,
    dest: normalizePath(parent, dest, true),
    ...owner(o.owner, base),
    mode: o.mode ?? -1,
  };
  if (c.mode === 0) delete c.mode;
  if (o.followSymlinks) c.followSymlink = true;
  if (o.dirCopyContents) c.dirCopyContents = true;
  if (o.attemptUnpack) c.attemptUnpackDockerCompatibility = true;
  if (o.createDestPath) c.createDestPath = true;
  if (o.allowWildcard) c.allowWildcard = true;
  if (o.allowEmptyWildcard) c.allowEmptyWildcard = true;
  c.timestamp = o.createdTime ?? -1;
  if (o.includePatterns?.length) c.include_patterns = [...o.includePatterns];
  if (o.excludePatterns?.length) c.exclude_patterns = [...o.excludePatterns];
  if (o.alwaysReplaceExistingDestPaths) c.alwaysReplaceExistingDestPaths = true;
  if (o.modeStr) c.modeStr = o.modeStr;
  if (o.requiredPaths?.length) c.required_paths = [...o.requiredPaths];
  return c;
}

function nz<K extends string>(key: K, v: number): Partial<Record<K, number>> {
  return v === 0 ? {} : ({ [key]: v } as Record<K, number>);
}

function owner(spec: ChownSpec | undefined, base: number): { owner?: PbChownOpt } {
  if (!spec) return {};
  const user = (u: UserSpec | undefined): PbUserOpt | undefined => {
    if (!u) return undefined;
    if ('uid' in u) return { byID: u.uid >>> 0 };
    return { byName: { name: u.name, ...(base !== 0 ? { input: base } : {}) } };
  };
  const out: PbChownOpt = {};
  const uo = user(spec.user);
  const go = user(spec.group);
  if (uo) out.user = uo;
  if (go) out.group = go;
  return { owner: out };
}
