import { posix } from 'node:path';
import { InvalidArgumentError } from '../../proto/errors.js';
import { ExecVertex, type RunOptions } from './exec-op.js';
import { type FileAction, FileOpVertex } from './file-op.js';
import type { OpOptions } from './op-options.js';
import type { Platform } from './platform.js';
import type { Output } from './vertex.js';

export type NetworkMode = 'sandbox' | 'host' | 'none';

/** What a State carries besides its output: the process defaults later ExecOps inherit. */
export interface StateMeta {
  readonly env: readonly (readonly [string, string])[];
  readonly dir: string | undefined;
  readonly user: string | undefined;
  readonly platform: Platform | undefined;
  readonly hostname: string | undefined;
  readonly network: NetworkMode | undefined;
}

const emptyMeta: StateMeta = {
  env: [],
  dir: undefined,
  user: undefined,
  platform: undefined,
  hostname: undefined,
  network: undefined,
};

/**
 * An immutable, lazy handle on a filesystem result (BuildKit's llb.State). Nothing is encoded until
 * `marshal`; every method returns a new State.
 */
export class State {
  readonly output: Output | undefined;
  readonly meta: StateMeta;

  constructor(output: Output | undefined, meta: StateMeta = emptyMeta) {
    this.output = output;
    this.meta = meta;
  }

  static scratch(): State {
    return new State(undefined);
  }

  get isScratch(): boolean {
    return this.output === undefined;
  }

  /** Same metadata, another filesystem. */
  withOutput(output: Output | undefined): State {
    return new State(output, this.meta);
  }

  private withMeta(patch: Partial<StateMeta>): State {
    return new State(this.output, { ...this.meta, ...patch });
  }

  addEnv(key: string, value: string): State {
    const env = this.meta.env.filter(([k]) => k !== key);
    return this.withMeta({ env: [...env, [key, value]] });
  }

  getEnv(key: string): string | undefined {
    return this.meta.env.find(([k]) => k === key)?.[1];
  }

  /** `K=V` strings in definition order, as ExecOp meta wants them. */
  envList(): string[] {
    return this.meta.env.map(([k, v]) => `${k}=${v}`);
  }

  /** A relative dir is resolved against the current one, as with `cd`. */
  dir(dir: string): State {
    const base = this.meta.dir ?? '/';
    return this.withMeta({ dir: posix.isAbsolute(dir) ? posix.normalize(dir) : posix.join(base, dir) });
  }

  getDir(): string {
    return this.meta.dir ?? '/';
  }

  user(user: string): State {
    return this.withMeta({ user });
  }

  getUser(): string | undefined {
    return this.meta.user;
  }

  platform(platform: Platform): State {
    return this.withMeta({ platform });
  }

  getPlatform(): Platform | undefined {
    return this.meta.platform;
  }

  hostname(hostname: string): State {
    return this.withMeta({ hostname });
  }

  network(network: NetworkMode): State {
    return this.withMeta({ network });
  }

  /** Applies a chain of file actions on top of this state (one FileOp). */
  file(action: FileAction, opts?: OpOptions): State {
    const vertex = new FileOpVertex(this, action, opts);
    return this.withOutput({ vertex, index: 0 });
  }

  /** Runs a process with this state as the root filesystem (one ExecOp). */
  run(opts: RunOptions): ExecState {
    return new ExecState(this, new ExecVertex(this, opts));
  }
}

/** The result of `State.run`: the root and every mount that has an output. */
export class ExecState {
  readonly #base: State;
  readonly #vertex: ExecVertex;

  constructor(base: State, vertex: ExecVertex) {
    this.#base = base;
    this.#vertex = vertex;
  }

  root(): State {
    return this.#base.withOutput({ vertex: this.#vertex, index: 0 });
  }

  /** The state of the writable mount at `dest` after the run. */
  getMount(dest: string): State {
    const index = this.#vertex.outputIndexOf(dest);
    if (index === undefined) throw new InvalidArgumentError(`no writable mount at ${dest}`);
    return State.scratch().withOutput({ vertex: this.#vertex, index });
  }
}

export function scratch(): State {
  return State.scratch();
}
