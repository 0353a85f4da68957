import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import {
  type ChownSpec,
  type CopyOptions,
  copy,
  type FileAction,
  mkdir,
  mkfile,
  parseChown,
} from '../../../client/llb/file-op.js';
import type { RunOptions } from '../../../client/llb/exec-op.js';
import { merge } from '../../../client/llb/merge-op.js';
import { normalizePath } from '../../../client/llb/paths.js';
import { defaultPlatform, formatPlatform, type Platform } from '../../../client/llb/platform.js';
import { local } from '../../../client/llb/source-op.js';
import { type NetworkMode, State } from '../../../client/llb/state.js';
import { InvalidArgumentError, type SourceLocation } from '../../../proto/errors.js';
import type { Command, CommandOf, Stage } from '../instructions/commands.js';
import { parseCommand, parseInstructions } from '../instructions/parse.js';
import type { ParseResult } from '../parser/ast.js';
import { goQuoteList } from '../parser/go-quote.js';
import { parseDockerfile } from '../parser/parser.js';
import { type EnvGetter, ShellLex } from '../shell/lex.js';
import { goList, goPortMap, goQuotedHealthcheck } from './go-format.js';
import {
  addEnv,
  cloneImage,
  commitToHistory,
  defaultPathEnv,
  emptyImage,
  type ImageConfig,
} from './image-config.js';
import { parsePortSpecs } from './ports.js';
import {
  type ImageConfigResolver,
  type ImageResolveMode,
  imageKey,
  lowerBaseImage,
  needsImage,
  type ResolvedImage,
  resolveImages,
} from './base-images.js';
import { checkAddChecksum, remoteAddSource } from './add-sources.js';
import { dispatchRun } from './dispatch-run.js';
import { didYouMeanArg } from '../linter/suggest-arg.js';
import type { SourceRecorder } from '../source-map.js';
import {
  type DispatchContext,
  emptyImageName,
  expand,
  messageOf,
  opOptions,
  prefixCommand,
  type StageState,
  stateEnv,
  UnsupportedInstructionError,
  withShell,
} from './dispatch-state.js';
import { mountFrom, parseCsvRecord, type RunMount } from './run-mounts.js';
import {
  type ContextExcludesLoader,
  type LoadedNamedContext,
  loadedKey,
  loadNamedContexts,
  lowerNamedContext,
} from './named-context-states.js';
import { findNamedContext, type NamedContext, type NamedContexts } from './named-contexts.js';
import { newOutlineCapture, type OutlineData, outlineOf } from './outline.js';
import type { OutlineArgInfo } from './dispatch-state.js';

export { UnsupportedInstructionError } from './dispatch-state.js';
export type { ImageConfigResolver, ImageResolveMode, ResolvedImage } from './base-images.js';
export type { ContextExcludesLoader } from './named-context-states.js';
export type { OutlineData } from './outline.js';

export interface ConvertOptions {
  /** Dockerfile name used in errors (`Dockerfile:4: …`). */
  readonly file: string;
  readonly target?: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly platform?: Platform;
  readonly sessionId?: string;
  /** .dockerignore patterns for the build context. */
  readonly excludePatterns?: readonly string[];
  /** `no-cache`: undefined = off, [] = every stage, else those stages. */
  readonly noCache?: readonly string[];
  /** Local name of the build context (opt `contextkey`). */
  readonly contextName?: string;
  /** Resolves registry base images; without one, `FROM <image>` is refused. */
  readonly resolveImage?: ImageConfigResolver;
  /** opt `image-resolve-mode`. */
  readonly imageResolveMode?: ImageResolveMode;
  /** opt `force-network-mode`: the network of every RUN without --network. */
  readonly networkMode?: NetworkMode;
  /** opt `hostname`. */
  readonly hostname?: string;
  /** Collects which lines made which op, for the Definition's source map (error locations). */
  readonly sourceRecorder?: SourceRecorder;
  /** opt `add-hosts`. */
  readonly extraHosts?: readonly { readonly host: string; readonly ip: string }[];
  /** `context:<name>=…` opts. */
  readonly namedContexts?: NamedContexts;
  /** Reads the ignore file of a `local:` named context. */
  readonly loadContextExcludes?: ContextExcludesLoader;
}

export interface ConvertResult {
  readonly state: State;
  readonly image: ImageConfig;
  /** Context paths COPY/ADD read (followPaths of the context local); undefined = whole context. */
  readonly contextPaths: readonly string[] | undefined;
  /** What the `frontend.outline` subrequest reports for the target. */
  readonly outline: OutlineData;
}

/**
 * Lowers a parsed Dockerfile to LLB (dockerfile2llb): stages from scratch, earlier stages or registry
 * images (resolved once each, in parallel), RUN with every mount type, COPY/ADD of local files,
 * WORKDIR, ENV/ARG/LABEL and the config-only instructions.
 */
export async function convertDockerfile(
  ast: ParseResult,
  opts: ConvertOptions,
  signal: AbortSignal = new AbortController().signal,
): Promise<ConvertResult> {
  const plan = planStages(ast, opts);
  const [images, contexts] = await Promise.all([
    resolveImages(plan.all, plan.reachable, opts, signal),
    loadNamedContexts(plan.all, plan.reachable, opts, signal),
  ]);
  // The context local depends on the paths COPY/ADD use, which are only known after dispatch (BuildKit
  // patches a mutable output in); dispatching twice keeps every State immutable.
  const probe = dispatchAll(planStages(ast, opts), opts, State.scratch(), images, contexts);
  const contextPaths = normalizeContextPaths(probe.ctxPaths);
  const context = local(opts.contextName ?? 'context', {
    ...(opts.sessionId ? { sessionId: opts.sessionId } : {}),
    ...(opts.excludePatterns?.length ? { excludePatterns: opts.excludePatterns } : {}),
    ...(contextPaths ? { followPaths: contextPaths } : {}),
    sharedKeyHint: opts.contextName ?? 'context',
    customName: '[internal] load build context',
  });
  const result = dispatchAll(planStages(ast, opts), opts, context, images, contexts);
  return { state: result.state, image: result.image, contextPaths, outline: result.outline };
}

function normalizeContextPaths(paths: ReadonlySet<string>): string[] | undefined {
  if (paths.size === 0 || paths.has('/')) return undefined;
  return [...paths].map((p) => posix.join('.', p)).sort();
}

interface Plan {
  readonly all: StageState[];
  readonly byName: Map<string, StageState>;
  readonly target: StageState;
  readonly reachable: Set<StageState>;
  readonly shlex: ShellLex;
  readonly globalEnv: EnvGetter;
  readonly platform: Platform;
  /** Records what a (trigger) command reads from other stages. */
  readonly link: (ds: StageState, cmd: Command) => void;
}

function parsePlatformText(text: string, location: SourceLocation): Platform {
  const [os, architecture, variant, ...rest] = text.toLowerCase().split('/');
  if (!os || !architecture || rest.length > 0) {
    throw new InvalidArgumentError(`failed to parse platform ${text}: want os/arch[/variant]`, { location });
  }
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** `type=` and `from=` of a --mount, read before expansion (from= never expands). */
function peekMount(raw: string): Pick<RunMount, 'type' | 'from'> {
  let type: RunMount['type'] = 'bind';
  let from = '';
  let fields: string[];
  try {
    fields = parseCsvRecord(raw);
  } catch {
    return { type, from };
  }
  for (const f of fields) {
    const eq = f.indexOf('=');
    if (eq < 0) continue;
    const key = f.slice(0, eq).toLowerCase();
    const value = f.slice(eq + 1);
    if (key === 'type' && !value.includes('$')) {
      const t = value.toLowerCase();
      if (t === 'bind' || t === 'cache' || t === 'tmpfs' || t === 'secret' || t === 'ssh') type = t;
    } else if (key === 'from') {
      from = value;
    }
  }
  return { type, from };
}

/** Stages, their dependencies, the target and what it reaches (no LLB yet). */
function planStages(ast: ParseResult, opts: ConvertOptions): Plan {
  const { stages, metaArgs } = parseInstructions(ast, opts.file);
  if (stages.length === 0) throw new InvalidArgumentError('dockerfile contains no stages to build');
  const platform = opts.platform ?? defaultPlatform;
  const shlex = new ShellLex(ast.escapeToken);
  const buildArgs = opts.buildArgs ?? {};

  let globalArgs = defaultArgs(platform);
  const globalArgInfo = new Map<string, OutlineArgInfo>();
  for (const cmd of metaArgs) {
    for (const kv of cmd.args) {
      let value: string | undefined;
      let deps = new Set<string>();
      if (kv.value !== undefined) {
        const r = expandWithMatches(shlex, kv.value, getterOf(globalArgs), cmd.location);
        value = r.result;
        deps = r.matched;
      }
      if (Object.hasOwn(buildArgs, kv.key)) value = buildArgs[kv.key];
      if (value !== undefined) globalArgs = new Map([...globalArgs, [kv.key, value]]);
      globalArgInfo.set(kv.key, {
        key: kv.key,
        value,
        description: kv.docComment,
        location: cmd.location,
        deps,
      });
    }
  }
  const globalEnv = getterOf(globalArgs);

  const all: StageState[] = [];
  const byName = new Map<string, StageState>();
  const newState = (
    stage: Stage,
    index: number,
    unregistered: boolean,
    stagePlatform: Platform,
  ): StageState => ({
    stage,
    index,
    stageName: unregistered ? '' : stage.name || `stage-${index}`,
    base: unregistered ? undefined : byName.get(stage.baseName.toLowerCase()),
    unregistered,
    platform: stagePlatform,
    deps: new Set(),
    copySources: new Map(),
    mountSources: new Map(),
    commands: [...stage.commands],
    onBuild: new Set(),
    state: State.scratch(),
    image: emptyImage(stagePlatform),
    dispatched: false,
    cmdIndex: 0,
    cmdTotal: 0,
    cmdSet: false,
    cmdIsOnBuild: false,
    ignoreCache:
      !unregistered &&
      opts.noCache !== undefined &&
      (opts.noCache.length === 0 || opts.noCache.includes(stage.name)),
    buildArgs: [],
    ctxPaths: new Set(),
    namedContext: undefined,
    outline: newOutlineCapture(globalArgInfo),
  });
  stages.forEach((stage, index) => {
    const fromExpansion = expandWithMatches(shlex, stage.baseName, globalEnv, stage.location);
    const baseName = fromExpansion.result;
    if (baseName === '') {
      throw new InvalidArgumentError(`base name (${stage.baseName}) should not be blank`, {
        location: stage.location,
      });
    }
    let stagePlatform = platform;
    if (stage.platform !== '') {
      const text = expand(shlex, stage.platform, globalEnv, stage.location);
      if (text === '') {
        throw new InvalidArgumentError(
          `empty platform value from expression ${stage.platform}${didYouMeanArg(shlex, stage.platform, globalArgs)}`,
          { location: stage.location },
        );
      }
      stagePlatform = parsePlatformText(text, stage.location);
    }
    const ds = newState({ ...stage, baseName }, index, false, stagePlatform);
    for (const k of fromExpansion.matched) if (globalArgInfo.has(k)) ds.outline.usedArgs.add(k);
    applyNamedContext(ds, stage.name, stage.name !== '', byName, opts.namedContexts);
    if (ds.base) ds.platform = ds.base.platform;
    ds.cmdTotal =
      (baseName !== emptyImageName && !ds.base && !ds.namedContext ? 1 : 0) +
      ds.commands.filter(
        (c) => c.kind === 'add' || c.kind === 'copy' || c.kind === 'run' || c.kind === 'workdir',
      ).length;
    all.push(ds);
    if (stage.name) byName.set(stage.name, ds);
  });

  const external = new Map<string, StageState>();
  const sourceFor = (from: string, cmd: Command): StageState => {
    const named = byName.get(from.toLowerCase());
    if (named) return named;
    const nc = findNamedContext(opts.namedContexts, from, platform);
    if (nc?.source.kind === 'target') return contextTarget(nc, byName);
    let ext = external.get(from);
    if (!ext) {
      // BuildKit registers an image used by --from as an extra, nameless stage.
      const stage: Stage = {
        name: '',
        baseName: from,
        platform: '',
        commands: [],
        location: cmd.location,
        original: '',
        docComment: '',
      };
      ext = newState(stage, all.length, true, platform);
      ext.namedContext = nc;
      external.set(from, ext);
      all.push(ext);
    }
    return ext;
  };
  const linkCommand = (ds: StageState, cmd: Command): void => {
    if (cmd.kind === 'copy' && cmd.from !== '') {
      if (shlex.processWord(cmd.from, () => undefined) !== cmd.from) {
        throw new InvalidArgumentError(
          'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround',
          { location: cmd.location },
        );
      }
      let src: StageState | undefined;
      if (/^\d+$/.test(cmd.from)) {
        src = all[Number(cmd.from)];
        if (!src || src.unregistered)
          throw new InvalidArgumentError(`invalid stage index ${cmd.from}`, { location: cmd.location });
      } else {
        src = sourceFor(cmd.from, cmd);
      }
      ds.deps.add(src);
      ds.copySources.set(cmd, src);
    } else if (cmd.kind === 'run' && cmd.mounts.length > 0) {
      const sources = cmd.mounts.map((raw) => {
        const from = mountFrom(peekMount(raw));
        if (from === '' || from.toLowerCase() === emptyImageName) return undefined;
        if (/\$./.test(from)) {
          throw new InvalidArgumentError(
            "'from' doesn't support variable expansion, define alias stage instead",
            { location: cmd.location },
          );
        }
        const src = sourceFor(from, cmd);
        ds.deps.add(src);
        return src;
      });
      ds.mountSources.set(cmd, sources);
    }
  };
  for (const ds of [...all]) for (const cmd of ds.commands) linkCommand(ds, cmd);
  if (all.filter((s) => !s.unregistered).length === 1 && all[0]) all[0].stageName = '';

  let target: StageState;
  if (opts.target) {
    const t = byName.get(opts.target.toLowerCase());
    if (!t) {
      throw new InvalidArgumentError(`target stage ${JSON.stringify(opts.target)} could not be found`);
    }
    target = t;
  } else {
    target = all.filter((s) => !s.unregistered).at(-1) as StageState;
  }

  // ONBUILD triggers of a base stage run first in the stages built on it (parsed here, so the
  // stages they copy from are known before images are resolved).
  for (const ds of all) {
    if (!ds.base) continue;
    const triggers = ds.base.stage.commands.filter((c) => c.kind === 'onbuild').map((c) => c.expression);
    addTriggers(ds, triggers, opts.file, linkCommand);
  }

  const reachable = new Set<StageState>();
  const visit = (s: StageState): void => {
    if (reachable.has(s)) return;
    reachable.add(s);
    if (s.base) visit(s.base);
    for (const d of s.deps) visit(d);
  };
  visit(target);
  return { all, byName, target, reachable, shlex, globalEnv, platform, link: linkCommand };
}

function expandWithMatches(
  shlex: ShellLex,
  word: string,
  env: EnvGetter,
  location: SourceLocation,
): { result: string; matched: Set<string> } {
  try {
    const r = shlex.processWordWithMatches(word, env);
    return { result: r.result, matched: r.matched };
  } catch (err) {
    throw new InvalidArgumentError(messageOf(err), { cause: err, location });
  }
}

/** The stage a `target:<stage>` named context points at. */
function contextTarget(nc: NamedContext, byName: ReadonlyMap<string, StageState>): StageState {
  const stage = nc.source.kind === 'target' ? nc.source.stage : '';
  const found = byName.get(stage);
  if (!found) {
    throw new InvalidArgumentError(
      `named context ${nc.key}: target stage ${JSON.stringify(stage)} could not be found (it must be defined before it is used)`,
    );
  }
  return found;
}

/**
 * A named context replaces a whole stage of that name, or the base of a stage whose FROM is no stage
 * (toDispatchState in dockerfile2llb).
 */
function applyNamedContext(
  ds: StageState,
  stageName: string,
  named: boolean,
  byName: ReadonlyMap<string, StageState>,
  contexts: NamedContexts | undefined,
): void {
  let nc = named ? findNamedContext(contexts, stageName, ds.platform) : undefined;
  if (nc) {
    ds.commands = [];
  } else if (!ds.base && ds.stage.baseName.toLowerCase() !== emptyImageName) {
    nc = findNamedContext(contexts, ds.stage.baseName, ds.platform);
  }
  if (!nc) return;
  if (nc.source.kind === 'target') {
    ds.base = contextTarget(nc, byName);
    return;
  }
  ds.base = undefined;
  ds.namedContext = nc;
}

/** Parses ONBUILD expressions into commands run before the stage's own (initOnBuildTriggers). */
function addTriggers(
  ds: StageState,
  triggers: readonly string[],
  file: string,
  link: (ds: StageState, cmd: Command) => void,
): void {
  if (triggers.length === 0) return;
  const cmds = triggers.map((expr) => {
    const loc = ds.stage.location;
    let cmd: Command;
    try {
      const ast = parseDockerfile(expr, { file });
      const node = ast.children[0];
      if (!node || ast.children.length !== 1)
        throw new Error('onbuild trigger should be a single expression');
      cmd = parseCommand(node, file);
    } catch (err) {
      throw new InvalidArgumentError(`${loc.file}:${loc.line}: ONBUILD ${expr}: ${messageOf(err)}`, {
        cause: err,
        location: loc,
      });
    }
    // Errors in a trigger point at the FROM that pulled it in.
    const placed = { ...cmd, location: loc } as Command;
    ds.onBuild.add(placed);
    link(ds, placed);
    return placed;
  });
  ds.commands = [...cmds, ...ds.commands];
  // BuildKit counts every trigger, layer or not (initOnBuildTriggers).
  ds.cmdTotal += cmds.length;
}

function dispatchAll(
  plan: Plan,
  opts: ConvertOptions,
  buildContext: State,
  images: ReadonlyMap<string, ResolvedImage>,
  contexts: ReadonlyMap<string, LoadedNamedContext>,
): { state: State; image: ImageConfig; ctxPaths: Set<string>; outline: OutlineData } {
  const { all, target, reachable, shlex, globalEnv, platform } = plan;
  const buildArgs = opts.buildArgs ?? {};
  const ctx: DispatchContext = {
    shlex,
    globalEnv,
    buildArgs,
    buildContext,
    platform,
    file: opts.file,
    proxyEnv: proxyEnvFromBuildArgs(buildArgs),
    cacheIdNamespace: buildArgs.BUILDKIT_CACHE_MOUNT_NS ?? '',
    extraHosts: opts.extraHosts ?? [],
  };

  // Base images first: their FROM is numbered 1 in the stage (resolveBaseImage runs before dispatch).
  for (const ds of all) {
    if (!reachable.has(ds) || !ds.namedContext) continue;
    const loaded = contexts.get(loadedKey(ds));
    if (!loaded) throw new InvalidArgumentError(`named context ${ds.namedContext.key} was not loaded`);
    lowerNamedContext(ds, loaded, opts);
  }
  for (const ds of all) {
    if (!reachable.has(ds) || !needsImage(ds)) continue;
    const resolved = images.get(imageKey(ds.stage.baseName, ds.platform));
    if (!resolved) {
      throw new UnsupportedInstructionError(
        `${ds.stage.baseName}: images used only by base-image ONBUILD triggers are not supported yet`,
        ds.stage.location,
      );
    }
    lowerBaseImage(ds, resolved, opts);
    opts.sourceRecorder?.step(State.scratch(), ds.state, ds.stage.location);
    if (!ds.unregistered) addTriggers(ds, ds.image.config.OnBuild ?? [], opts.file, plan.link);
  }

  const ctxPaths = new Set<string>();
  for (const ds of all) if (ds.unregistered) ds.dispatched = true;
  for (const ds of all) {
    if (!reachable.has(ds) || ds.unregistered) continue;
    if (ds.base) {
      ds.state = ds.base.state;
      ds.image = cloneImage(ds.base.image);
    } else if (!ds.namedContext && ds.stage.baseName.toLowerCase() === emptyImageName) {
      ds.state = State.scratch().platform(ds.platform);
      ds.image = emptyImage(ds.platform);
    }
    // ONBUILD triggers never carry over: those of the base were turned into commands.
    delete ds.image.config.OnBuild;
    ds.dispatched = true;
    // The state starts from the base image's config: PATH, ENV, WORKDIR, USER.
    if (!(ds.image.config.Env ?? []).some((e) => e.startsWith('PATH='))) {
      ds.image.config.Env = [...(ds.image.config.Env ?? []), `PATH=${defaultPathEnv}`];
    }
    if (!ds.base) {
      for (const e of ds.image.config.Env ?? []) {
        const i = e.indexOf('=');
        ds.state = ds.state.addEnv(i < 0 ? e : e.slice(0, i), i < 0 ? '' : e.slice(i + 1));
      }
      if (opts.hostname) ds.state = ds.state.hostname(opts.hostname);
      if (ds.image.config.WorkingDir) ds.state = ds.state.dir(ds.image.config.WorkingDir);
      if (ds.image.config.User) ds.state = ds.state.user(ds.image.config.User);
      if (opts.networkMode) ds.state = ds.state.network(opts.networkMode);
    }
    for (const cmd of ds.commands) {
      ds.cmdIsOnBuild = ds.onBuild.has(cmd);
      const before = ds.state;
      dispatch(ds, cmd, ctx);
      opts.sourceRecorder?.step(before, ds.state, cmd.location);
    }
    for (const p of ds.ctxPaths) ctxPaths.add(p);
  }

  const image = target.image;
  if (opts.labels && Object.keys(opts.labels).length > 0) {
    image.config.Labels = { ...(image.config.Labels ?? {}), ...opts.labels };
  }
  if (opts.platform) {
    // An explicit target platform wins over the base image's (finalizeResultImage); without one the
    // image keeps what its base says.
    const sameOsArch = image.os === platform.os && image.architecture === platform.architecture;
    image.os = platform.os;
    image.architecture = platform.architecture;
    if (platform.variant) image.variant = platform.variant;
    else if (!sameOsArch) delete image.variant;
  }
  return { state: target.state, image, ctxPaths, outline: outlineOf(target) };
}

function defaultArgs(p: Platform): Map<string, string> {
  const plat = formatPlatform(p);
  return new Map([
    ['BUILDPLATFORM', plat],
    ['BUILDOS', p.os],
    ['BUILDARCH', p.architecture],
    ['BUILDVARIANT', p.variant ?? ''],
    ['TARGETPLATFORM', plat],
    ['TARGETOS', p.os],
    ['TARGETARCH', p.architecture],
    ['TARGETVARIANT', p.variant ?? ''],
  ]);
}

function getterOf(m: ReadonlyMap<string, string>): EnvGetter {
  return (name) => m.get(name);
}

/** HTTP_PROXY & co. from the build args go to Meta.proxy_env (outside the cache key), never to env. */
function proxyEnvFromBuildArgs(args: Readonly<Record<string, string>>): RunOptions['proxyEnv'] {
  const out: { http?: string; https?: string; ftp?: string; no?: string; all?: string } = {};
  let set = false;
  for (const k of Object.keys(args).sort()) {
    const v = args[k] ?? '';
    const lower = k.toLowerCase();
    const slot = (
      {
        http_proxy: 'http',
        https_proxy: 'https',
        ftp_proxy: 'ftp',
        no_proxy: 'no',
        all_proxy: 'all',
      } as const
    )[lower as 'http_proxy'];
    if (slot === undefined) continue;
    out[slot] = v;
    set = true;
  }
  return set ? out : undefined;
}

function dispatch(ds: StageState, cmd: Command, ctx: DispatchContext): void {
  const env = stateEnv(ds);
  const x = (word: string): string => expand(ctx.shlex, word, env, cmd.location);
  const img = ds.image;
  switch (cmd.kind) {
    case 'env': {
      const parts: string[] = [];
      // Every word expands against the env before the instruction: `ENV a=1 b=$a` reads the old a.
      const pairs = cmd.env.map((kv) => [x(kv.key), x(kv.value)] as const);
      for (const [key, value] of pairs) {
        parts.push(`${key}=${value}`);
        ds.state = ds.state.addEnv(key, value);
        img.config.Env = addEnv(img.config.Env, key, value);
      }
      commitToHistory(img, `ENV ${parts.join(' ')}`, false, false);
      return;
    }
    case 'label': {
      const parts: string[] = [];
      img.config.Labels = { ...(img.config.Labels ?? {}) };
      for (const kv of cmd.labels) {
        const key = x(kv.key);
        const value = x(kv.value);
        img.config.Labels[key] = value;
        parts.push(`${key}=${value}`);
      }
      commitToHistory(img, `LABEL ${parts.join(' ')}`, false, false);
      return;
    }
    case 'maintainer':
      img.author = cmd.maintainer;
      commitToHistory(img, `MAINTAINER ${cmd.maintainer}`, false, false);
      return;
    case 'arg':
      dispatchArg(ds, cmd, ctx);
      return;
    case 'workdir':
      dispatchWorkdir(ds, x(cmd.path), cmd, ctx);
      return;
    case 'user': {
      const user = x(cmd.user);
      ds.state = ds.state.user(user);
      img.config.User = user;
      commitToHistory(img, `USER ${user}`, false, false);
      return;
    }
    case 'cmd':
    case 'entrypoint': {
      const args = cmd.prependShell ? withShell(img, cmd.cmdLine) : [...cmd.cmdLine];
      if (cmd.kind === 'cmd') {
        img.config.Cmd = args;
        img.config.ArgsEscaped = true;
        ds.cmdSet = true;
        commitToHistory(img, `CMD ${goQuoteList(args)}`, false, false);
      } else {
        img.config.Entrypoint = args;
        if (!ds.cmdSet) img.config.Cmd = null;
        commitToHistory(img, `ENTRYPOINT ${goQuoteList(args)}`, false, false);
      }
      return;
    }
    case 'expose': {
      const words = cmd.ports.flatMap((p) => {
        try {
          return ctx.shlex.processWords(p, env);
        } catch (err) {
          throw new InvalidArgumentError(err instanceof Error ? err.message : String(err), {
            location: cmd.location,
          });
        }
      });
      let ports: string[];
      try {
        ports = parsePortSpecs(words);
      } catch (err) {
        throw new InvalidArgumentError(err instanceof Error ? err.message : String(err), {
          location: cmd.location,
        });
      }
      img.config.ExposedPorts = { ...(img.config.ExposedPorts ?? {}) };
      for (const p of ports) img.config.ExposedPorts[p] = {};
      commitToHistory(img, `EXPOSE ${goPortMap(ports)}`, false, false);
      return;
    }
    case 'volume': {
      const volumes = cmd.volumes.map(x);
      img.config.Volumes = { ...(img.config.Volumes ?? {}) };
      for (const v of volumes) {
        if (v === '')
          throw new InvalidArgumentError('VOLUME specified can not be an empty string', {
            location: cmd.location,
          });
        img.config.Volumes[v] = {};
      }
      commitToHistory(img, `VOLUME ${goList(volumes)}`, false, false);
      return;
    }
    case 'stopsignal': {
      const signal = x(cmd.signal);
      if (!isValidSignal(signal)) {
        throw new InvalidArgumentError(`Invalid signal: ${signal}`, { location: cmd.location });
      }
      img.config.StopSignal = signal;
      commitToHistory(img, `STOPSIGNAL ${signal}`, false, false);
      return;
    }
    case 'shell':
      img.config.Shell = [...cmd.shell];
      commitToHistory(img, `SHELL ${goList(cmd.shell)}`, false, false);
      return;
    case 'healthcheck': {
      const h = cmd.health;
      img.config.Healthcheck = {
        Test: [...h.test],
        ...(h.interval ? { Interval: h.interval } : {}),
        ...(h.timeout ? { Timeout: h.timeout } : {}),
        ...(h.startPeriod ? { StartPeriod: h.startPeriod } : {}),
        ...(h.startInterval ? { StartInterval: h.startInterval } : {}),
        ...(h.retries ? { Retries: h.retries } : {}),
      };
      commitToHistory(img, `HEALTHCHECK ${goQuotedHealthcheck(h)}`, false, false);
      return;
    }
    case 'onbuild':
      img.config.OnBuild = [...(img.config.OnBuild ?? []), cmd.expression];
      return;
    case 'copy':
    case 'add':
      dispatchCopy(ds, cmd, ctx);
      return;
    case 'run':
      dispatchRun(ds, cmd, ctx);
      return;
    default: {
      const never: never = cmd;
      throw new InvalidArgumentError(`unhandled instruction ${String(never)}`);
    }
  }
}

function dispatchArg(ds: StageState, cmd: CommandOf<'arg'>, ctx: DispatchContext): void {
  const parts: string[] = [];
  for (const arg of cmd.args) {
    const hasValue = Object.hasOwn(ctx.buildArgs, arg.key);
    let value = arg.value;
    if (value === undefined && !hasValue) value = ctx.globalEnv(arg.key);
    if (hasValue) value = ctx.buildArgs[arg.key];
    else if (arg.value !== undefined) value = expand(ctx.shlex, arg.value, stateEnv(ds), cmd.location);
    if (value !== undefined) ds.state = ds.state.addEnv(arg.key, value);
    // A re-declared global ARG keeps the global's outline entry (skipArgInfo in dispatchArg).
    const inherited = arg.value === undefined && !hasValue && ctx.globalEnv(arg.key) !== undefined;
    if (!inherited) {
      ds.outline.allArgs.set(arg.key, {
        key: arg.key,
        value,
        description: arg.docComment,
        location: cmd.location,
        deps: new Set(),
      });
    }
    ds.outline.usedArgs.add(arg.key);
    ds.buildArgs.push({ key: arg.key, value, docComment: arg.docComment });
    // BuildKit v0.11 records the ARG as written (its default expanded), not the value a build-arg
    // gave it.
    const written =
      arg.value === undefined ? undefined : expand(ctx.shlex, arg.value, stateEnv(ds), cmd.location);
    parts.push(written === undefined ? arg.key : `${arg.key}=${written}`);
  }
  commitToHistory(ds.image, `ARG ${parts.join(' ')}`, false, false);
}

/** Progress name of an instruction: the original line with variables expanded, keyword upper-cased. */
function commandName(ds: StageState, cmd: Command, ctx: DispatchContext): string {
  let text = cmd.original.trim();
  try {
    text = ctx.shlex.processWord(text, stateEnv(ds));
  } catch {
    // BuildKit keeps the raw line when it does not expand.
  }
  const sp = text.indexOf(' ');
  return sp < 0 ? text.toUpperCase() : text.slice(0, sp).toUpperCase() + text.slice(sp);
}

function dispatchWorkdir(
  ds: StageState,
  path: string,
  cmd: CommandOf<'workdir'>,
  ctx: DispatchContext,
): void {
  const current = ds.image.config.WorkingDir || '/';
  const wd = posix.isAbsolute(path) ? posix.normalize(path) : posix.join(current, path);
  const clean = wd.length > 1 && wd.endsWith('/') ? wd.slice(0, -1) : wd;
  ds.image.config.WorkingDir = clean;
  ds.state = ds.state.dir(clean);
  let withLayer = false;
  if (clean !== '/') {
    const user = ds.image.config.User;
    const name = prefixCommand(ds, commandName(ds, cmd, ctx));
    ds.state = ds.state.file(
      mkdir(clean, 0o755, { makeParents: true, ...(user ? { owner: parseChown(user) } : {}) }),
      opOptions(ds, name),
    );
    withLayer = true;
  }
  commitToHistory(ds.image, `WORKDIR ${clean}`, withLayer, false);
}

function parseChmod(chmod: string, location: SourceLocation): Pick<CopyOptions, 'mode' | 'modeStr'> {
  if (chmod === '') return {};
  if (/^[0-7]+$/.test(chmod)) {
    const mode = Number.parseInt(chmod, 8);
    if (mode <= 0o7777) return { mode };
  } else if (/^([ugoa]*[-+=]([rwxXst]*|[ugo]))(,[ugoa]*[-+=]([rwxXst]*|[ugo]))*$/.test(chmod)) {
    return { modeStr: chmod };
  }
  throw new InvalidArgumentError(
    `invalid chmod parameter: '${chmod}'. it should be octal string and between 0 and 07777`,
    { location },
  );
}

function containsWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}

function dispatchCopy(ds: StageState, cmd: CommandOf<'copy'> | CommandOf<'add'>, ctx: DispatchContext): void {
  const env = stateEnv(ds);
  const x = (word: string): string => expand(ctx.shlex, word, env, cmd.location);
  const isAdd = cmd.kind === 'add';
  const keyword = isAdd ? 'ADD' : 'COPY';
  const sourcePaths = cmd.params.sourcePaths.map(x);
  const destPath = x(cmd.params.destPath);
  const chown = x(cmd.chown);
  const chmod = x(cmd.chmod);
  const excludes = cmd.excludes.map(x);
  const parents = cmd.kind === 'copy' && cmd.parents;
  const fromStage = cmd.kind === 'copy' ? ds.copySources.get(cmd) : undefined;
  if (fromStage && !fromStage.dispatched) {
    throw new InvalidArgumentError(
      `cannot copy from stage ${JSON.stringify(cmd.kind === 'copy' ? cmd.from : '')}, it needs to be defined before current stage ${JSON.stringify(ds.stageName)}`,
      { location: cmd.location },
    );
  }
  const source = fromStage ? fromStage.state : ctx.buildContext;
  const checksum = isAdd ? x(cmd.checksum) : '';
  if (isAdd) {
    const bad = checkAddChecksum(checksum, sourcePaths);
    if (bad !== undefined) throw new InvalidArgumentError(bad, { location: cmd.location });
  }

  const dir = ds.state.getDir();
  const dest = normalizePath(dir, destPath === '.' || destPath === '' ? './' : destPath, true);
  const owner: ChownSpec | undefined = chown ? parseChown(chown) : undefined;
  const mode = parseChmod(chmod, cmd.location);
  const common: CopyOptions = {
    ...mode,
    ...(owner ? { owner } : {}),
    ...(excludes.length ? { excludePatterns: excludes } : {}),
  };

  // BuildKit v0.11 records only the sources and destination, without --chown/--chmod.
  let history = keyword;
  if (parents) history += ' --parents';

  const name = commandName(ds, cmd, ctx);
  const pgName = prefixCommand(ds, name);

  let action: FileAction | undefined;
  const add = (st: State, src: string, opts: CopyOptions): void => {
    action = action ? action.copy(st, src, dest, opts) : copy(st, src, dest, opts);
  };
  for (const raw of sourcePaths) {
    history += ` ${raw}`;
    const remote = isAdd
      ? remoteAddSource(raw, { op: opOptions(ds, pgName), checksum, keepGitDir: cmd.keepGitDir === true })
      : undefined;
    if (remote) {
      add(remote.state, remote.path, { ...common, createDestPath: true });
      continue;
    }
    let src = raw;
    let include: string[] | undefined;
    let required: string[] | undefined;
    if (parents) {
      const pivot = raw.indexOf('/./');
      let pattern: string;
      if (pivot < 0) {
        pattern = raw;
        src = '/';
      } else {
        pattern = raw.slice(pivot + 3);
        src = raw.slice(0, pivot);
      }
      pattern = normalizePath('/', pattern, false);
      include = [pattern.replace(/^\//, '')];
      if (!containsWildcards(src) && !containsWildcards(pattern))
        required = [normalizePath('/', posix.join(src, pattern), false)];
    }
    src = normalizePath('/', src, false);
    add(source, src, {
      ...common,
      followSymlinks: true,
      dirCopyContents: true,
      ...(include ? { includePatterns: include } : {}),
      ...(required ? { requiredPaths: required } : {}),
      ...(isAdd && cmd.unpack !== false ? { attemptUnpack: true } : {}),
      createDestPath: true,
      allowWildcard: true,
      allowEmptyWildcard: true,
    });
    if (!fromStage) ds.ctxPaths.add(normalizePath('/', raw, false));
  }
  for (const content of cmd.params.sourceContents) {
    history += ` <<${content.path}`;
    let data = content.data;
    if (content.expand) {
      try {
        data = new ShellLex(ctx.shlex.escapeToken, { skipProcessQuotes: true }).processWord(data, env);
      } catch (err) {
        throw new InvalidArgumentError(err instanceof Error ? err.message : String(err), {
          location: cmd.location,
        });
      }
    }
    // Heredoc bodies are written with 0664, as BuildKit v0.11 does.
    const inline = State.scratch().file(mkfile(content.path, 0o664, data), {
      customName: '[internal] preparing inline document',
    });
    add(inline, content.path, { ...common, createDestPath: true });
  }
  history += ` ${destPath}`;
  if (!action) throw new InvalidArgumentError(`${keyword} has no sources`, { location: cmd.location });

  if (cmd.link && chmod === '') {
    // --link: the copy is built on scratch and layered on top, so it does not depend on the stage.
    const pgId = progressGroupId(ds, cmd);
    const layer = State.scratch().file(
      action,
      opOptions(ds, pgName, { progressGroup: { id: pgId, name: pgName, weak: true } }),
    );
    ds.cmdIndex--;
    const linkName = prefixCommand(ds, `LINK ${name}`);
    ds.state = ds.state.withOutput(
      merge([ds.state, layer], opOptions(ds, linkName, { progressGroup: { id: pgId, name: pgName } })).output,
    );
  } else {
    ds.state = ds.state.file(action, opOptions(ds, pgName));
  }
  commitToHistory(ds.image, history, true, true);
}

/** BuildKit draws a random progress-group id; a stable one keeps definitions reproducible. */
function progressGroupId(ds: StageState, cmd: Command): string {
  return createHash('sha256')
    .update(`${ds.index}:${cmd.location.line}:${cmd.original}`)
    .digest('hex')
    .slice(0, 25);
}

const signals = new Set([
  'ABRT',
  'ALRM',
  'BUS',
  'CHLD',
  'CLD',
  'CONT',
  'FPE',
  'HUP',
  'ILL',
  'INT',
  'IO',
  'IOT',
  'KILL',
  'PIPE',
  'POLL',
  'PROF',
  'PWR',
  'QUIT',
  'SEGV',
  'STKFLT',
  'STOP',
  'SYS',
  'TERM',
  'TRAP',
  'TSTP',
  'TTIN',
  'TTOU',
  'URG',
  'USR1',
  'USR2',
  'VTALRM',
  'WINCH',
  'XCPU',
  'XFSZ',
]);

function isValidSignal(s: string): boolean {
  if (/^\d+$/.test(s)) return Number(s) > 0 && Number(s) < 65;
  const name = s.toUpperCase().replace(/^SIG/, '');
  return signals.has(name) || /^RTM(IN|AX)([+-]\d+)?$/.test(name);
}
