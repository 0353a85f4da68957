import type { OpOptions } from '../../../client/llb/op-options.js';
import type { Platform } from '../../../client/llb/platform.js';
import type { RunOptions } from '../../../client/llb/exec-op.js';
import type { State } from '../../../client/llb/state.js';
import { InvalidArgumentError, type SourceLocation, UnimplementedError } from '../../../proto/errors.js';
import type { Command, KeyValueOptional, Stage } from '../instructions/commands.js';
import type { EnvGetter, ShellLex } from '../shell/lex.js';
import type { ImageConfig } from './image-config.js';
import type { NamedContext } from './named-contexts.js';

// What dispatching a stage works on (BuildKit's dispatchState / dispatchOpt), shared by the phases.

/** A Dockerfile feature this slice of Kiln cannot lower yet. */
export class UnsupportedInstructionError extends UnimplementedError {
  constructor(what: string, location: SourceLocation) {
    super(`${location.file}:${location.line}: ${what}`, { location });
    this.name = 'UnsupportedInstructionError';
  }
}

export const emptyImageName = 'scratch';

export interface StageState {
  readonly stage: Stage;
  readonly index: number;
  stageName: string;
  base: StageState | undefined;
  /** A `COPY --from` / `RUN --mount from=` image that is no stage of the Dockerfile. */
  readonly unregistered: boolean;
  platform: Platform;
  readonly deps: Set<StageState>;
  readonly copySources: Map<Command, StageState>;
  /** Per RUN, the state each --mount reads (undefined: build context or scratch). */
  readonly mountSources: Map<Command, (StageState | undefined)[]>;
  commands: Command[];
  readonly onBuild: Set<Command>;
  state: State;
  image: ImageConfig;
  dispatched: boolean;
  cmdIndex: number;
  cmdTotal: number;
  cmdSet: boolean;
  cmdIsOnBuild: boolean;
  ignoreCache: boolean;
  buildArgs: KeyValueOptional[];
  readonly ctxPaths: Set<string>;
  /** A named context (`--opt context:<name>=…`) that replaces the stage's base or the stage itself. */
  namedContext: NamedContext | undefined;
  /** What the outline subrequest reports (dockerfile2llb/outline.go). */
  readonly outline: OutlineCapture;
}

/** Where a declared ARG comes from, for the outline subrequest. */
export interface OutlineArgInfo {
  readonly key: string;
  readonly value: string | undefined;
  readonly description: string;
  readonly location: SourceLocation & { readonly endLine?: number };
  /** ARGs its default refers to. */
  readonly deps: ReadonlySet<string>;
}

export interface OutlineCapture {
  readonly allArgs: Map<string, OutlineArgInfo>;
  readonly usedArgs: Set<string>;
  readonly secrets: Map<
    string,
    { required: boolean; location: SourceLocation & { readonly endLine?: number } }
  >;
  readonly ssh: Map<string, { required: boolean; location: SourceLocation & { readonly endLine?: number } }>;
}

export interface DispatchContext {
  readonly shlex: ShellLex;
  readonly globalEnv: EnvGetter;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly buildContext: State;
  readonly platform: Platform;
  readonly file: string;
  readonly proxyEnv: RunOptions['proxyEnv'];
  /** build-arg BUILDKIT_CACHE_MOUNT_NS: prefix of cache mount ids. */
  readonly cacheIdNamespace: string;
  /** opt `add-hosts`: extra /etc/hosts entries of every RUN. */
  readonly extraHosts: readonly { readonly host: string; readonly ip: string }[];
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function expand(shlex: ShellLex, word: string, env: EnvGetter, location: SourceLocation): string {
  try {
    return shlex.processWord(word, env);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new InvalidArgumentError(message, { cause: err, location });
  }
}

export const stateEnv =
  (ds: StageState): EnvGetter =>
  (name) =>
    ds.state.getEnv(name);

export function withShell(img: ImageConfig, args: readonly string[]): string[] {
  const shell = img.config.Shell?.length ? img.config.Shell : ['/bin/sh', '-c'];
  return [...shell, args.join(' ')];
}

/** `[stage 2/5] ` as BuildKit prefixes vertex names (index right-aligned to the total's width). */
export function prefixCommand(ds: StageState, text: string): string {
  if (ds.cmdTotal === 0) return text;
  ds.cmdIndex++;
  const width = Math.floor(1 + Math.log10(ds.cmdTotal));
  const stage = ds.stageName ? `${ds.stageName} ` : '';
  const onBuild = ds.cmdIsOnBuild ? 'ONBUILD ' : '';
  return `[${stage}${String(ds.cmdIndex).padStart(width, ' ')}/${ds.cmdTotal}] ${onBuild}${text}`;
}

export function opOptions(ds: StageState, customName: string, extra: Partial<OpOptions> = {}): OpOptions {
  return { customName, ...(ds.ignoreCache ? { ignoreCache: true } : {}), ...extra };
}
