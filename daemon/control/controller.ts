import { createHash, randomBytes } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { Frontend, FrontendBridge } from '../../frontends/types.js';
import { CanceledError, InvalidArgumentError, UnimplementedError } from '../../proto/errors.js';
import type { ControlHandlers } from '../../proto/generated/moby/buildkit/v1/Control.js';
import type { LLBBridgeHandlers } from '../../proto/generated/moby/buildkit/v1/frontend/LLBBridge.js';
import type { Result__Output } from '../../proto/generated/moby/buildkit/v1/frontend/Result.js';
import type { SolveRequest__Output } from '../../proto/generated/moby/buildkit/v1/SolveRequest.js';
import type { UsageRecord } from '../../proto/generated/moby/buildkit/v1/UsageRecord.js';
import type { Exporter, ExporterInstance } from '../exporter/types.js';
import type { SessionManager } from '../session/manager.js';
import { loadDefinition } from '../solver/llb-loader.js';
import type { Solver } from '../solver/solver.js';
import type { ImmutableRef, OpProgress } from '../solver/types.js';
import { Build, type GatewayOutcome } from './build.js';
import { grantEntitlements } from './entitlements.js';
import { pongCaps } from './caps.js';
import { createFrontendBridge, type ImageConfigResolver } from './frontend-bridge.js';
import { errorFromReturnStatus, withDefinitionSource } from './error-status.js';
import { type Logger, serverStream, unary, unimplemented } from './grpc-handlers.js';
import { encodeStatusBatch } from './status-encoder.js';
import { WaitableMap } from './waitable-map.js';

/** A record as `du` and `prune` show it (BuildKit's UsageRecord). */
export interface UsageInfo {
  readonly id: string;
  readonly mutable: boolean;
  readonly inUse: boolean;
  readonly size: number;
  readonly createdAt: number;
  readonly lastUsedAt: number | undefined;
  readonly usageCount: number;
  readonly description: string;
  readonly recordType: string;
  readonly shared: boolean;
  readonly parents: readonly string[];
}

export interface PruneOptions {
  readonly all: boolean;
  readonly keepDurationMs: number;
  readonly keepBytes: number;
  readonly filter: readonly string[];
}

/** What the controller needs of the cache for `du` and `prune`. */
export interface CacheAdmin {
  diskUsage(filter: readonly string[], signal: AbortSignal): Promise<UsageInfo[]>;
  prune(opts: PruneOptions, onPruned: (r: UsageInfo) => Promise<void>, signal: AbortSignal): Promise<void>;
}

export interface WorkerInfo {
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly platforms: readonly { Architecture: string; OS: string; Variant?: string }[];
}

export interface ControllerDeps {
  readonly sessions: SessionManager;
  readonly solver: Solver;
  readonly cache: CacheAdmin;
  readonly frontends: ReadonlyMap<string, Frontend>;
  readonly exporters: ReadonlyMap<string, Exporter>;
  readonly worker: WorkerInfo;
  /** Entitlements clients may ask for (`--allow-insecure-entitlement`). */
  readonly allowedEntitlements: readonly string[];
  /** Registry image resolution for frontends and LLBBridge.ResolveImageConfig. */
  readonly resolveImageConfig: ImageConfigResolver;
  readonly version: string;
  readonly log: Logger;
  /** Aborted on daemon shutdown: ends sessions and builds. */
  readonly signal: AbortSignal;
}

const buildIdHeader = 'buildkit-controlapi-buildid';
/** BuildKit waits this long for a build to register before answering Status / LLBBridge calls. */
const statusWaitMs = 6000;
const gatewayWaitMs = 3000;
/** A finished build is kept this long so a late Status reader still gets its whole progress. */
const finishedBuildLingerMs = 30_000;

/** Control and LLBBridge: thin, they validate at the edge and delegate to the solver and exporters. */
export class Controller {
  readonly #deps: ControllerDeps;
  readonly #builds = new WaitableMap<Build>();

  constructor(deps: ControllerDeps) {
    this.#deps = deps;
  }

  #workerRecord() {
    const w = this.#deps.worker;
    return {
      ID: w.id,
      Labels: { ...w.labels },
      platforms: w.platforms.map((p) => ({ ...p })),
      GCPolicy: [],
      BuildkitVersion: this.#version(),
    };
  }

  #version() {
    return { package: 'github.com/kiln-build/kiln', version: this.#deps.version, revision: '' };
  }

  controlHandlers(): ControlHandlers {
    const log = this.#deps.log;
    return {
      ListWorkers: unary(log, 'ListWorkers', async () => ({ record: [this.#workerRecord()] })),
      Info: unary(log, 'Info', async () => ({ buildkitVersion: this.#version() })),
      Session: (call) => {
        const ac = new AbortController();
        const onShutdown = () => ac.abort(new CanceledError('kilnd is shutting down'));
        this.#deps.signal.addEventListener('abort', onShutdown, { once: true });
        this.#deps.sessions.handle(call, call.metadata, ac.signal).then(
          () => {
            this.#deps.signal.removeEventListener('abort', onShutdown);
            call.end();
          },
          (err: unknown) => {
            this.#deps.signal.removeEventListener('abort', onShutdown);
            log(`Session: ${(err as Error).message}`);
            call.destroy(err as Error);
          },
        );
      },
      Solve: unary(log, 'Solve', (req: SolveRequest__Output, signal) => this.#solve(req, signal)),
      Status: serverStream(log, 'Status', async (req, write, signal) => {
        const build = await this.#builds.wait(req.Ref, statusWaitMs, signal, 'build');
        await this.#streamStatus(build, write, signal);
      }),
      DiskUsage: unary(log, 'DiskUsage', async (req, signal) => {
        const records = await this.#deps.cache.diskUsage(req.filter, signal);
        return { record: records.map(toUsageRecord) };
      }),
      Prune: serverStream(log, 'Prune', async (req, write, signal) => {
        await this.#deps.cache.prune(
          {
            all: req.all,
            keepDurationMs: Math.floor(Number(req.keepDuration) / 1e6),
            keepBytes: Number(req.keepBytes),
            filter: req.filter,
          },
          (r) => write(toUsageRecord(r)),
          signal,
        );
      }),
      ListenBuildHistory: serverStream(log, 'ListenBuildHistory', async () => {
        throw new UnimplementedError('build history is not supported by kilnd yet');
      }),
      UpdateBuildHistory: unimplemented('UpdateBuildHistory'),
    };
  }

  async #streamStatus(
    build: Build,
    write: (m: ReturnType<typeof encodeStatusBatch>[number]) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    // Batch what arrives within a few ms into one message, as BuildKit's progress writer does.
    const pending: Parameters<typeof encodeStatusBatch>[0][number][] = [];
    let timer: NodeJS.Timeout | undefined;
    let flushing: Promise<void> = Promise.resolve();
    const flush = () => {
      timer = undefined;
      const batch = pending.splice(0);
      flushing = flushing.then(async () => {
        for (const m of encodeStatusBatch(batch)) await write(m);
      });
    };
    for await (const event of build.job.progress) {
      if (signal.aborted) break;
      pending.push(event);
      timer ??= setTimeout(flush, 20);
    }
    if (timer) clearTimeout(timer);
    flush();
    await flushing;
  }

  async #solve(
    req: SolveRequest__Output,
    callSignal: AbortSignal,
  ): Promise<{ ExporterResponse: Record<string, string> }> {
    if (!req.Ref) throw new InvalidArgumentError('SolveRequest.Ref is empty');
    if (!req.Session)
      throw new InvalidArgumentError('SolveRequest.Session is empty: a build needs a client session');
    if (this.#builds.get(req.Ref)) throw new InvalidArgumentError(`build ${req.Ref} already exists`);
    const cacheKinds = [...(req.Cache?.Exports ?? []), ...(req.Cache?.Imports ?? [])].map((e) => e.Type);
    if (cacheKinds.length > 0) {
      // Say so rather than build and silently export or import nothing.
      throw new UnimplementedError(
        `cache export/import (${[...new Set(cacheKinds)].join(', ')}) is not supported by kilnd yet; build without --export-cache/--import-cache`,
      );
    }
    const exporter = this.#resolveExporter(req.Exporter, req.ExporterAttrs);
    const entitlements = grantEntitlements(req.Entitlements, this.#deps.allowedEntitlements);
    const signal = AbortSignal.any([callSignal, this.#deps.signal]);
    const job = this.#deps.solver.newJob({ id: req.Ref, sessionIds: [req.Session], signal });
    const build = new Build(req.Ref, req.Session, job, signal, entitlements);
    this.#builds.set(req.Ref, build);
    try {
      // The client's session dies → its build is canceled and everything it held released.
      const session = await this.#deps.sessions.get(req.Session, { signal, timeoutMs: 5000 });
      const onSessionEnd = () => build.fail(new CanceledError(`session ${req.Session} ended`));
      session.signal.addEventListener('abort', onSessionEnd, { once: true });
      const buildSignal = AbortSignal.any([signal, session.signal]);
      try {
        const outcome = await this.#runFrontendOrWait(req, build, buildSignal);
        let ref: ImmutableRef | undefined;
        if (outcome.refId !== undefined) {
          const result = build.result(outcome.refId);
          ref = await withDefinitionSource(result, () => result.materialize(buildSignal));
        }
        const response = exporter
          ? await this.#export(build, exporter, ref, outcome, session, buildSignal)
          : {};
        return { ExporterResponse: response };
      } finally {
        session.signal.removeEventListener('abort', onSessionEnd);
      }
    } finally {
      await build[Symbol.asyncDispose]();
      setTimeout(() => {
        if (this.#builds.get(req.Ref) === build) this.#builds.delete(req.Ref);
      }, finishedBuildLingerMs).unref();
    }
  }

  #resolveExporter(name: string, attrs: Record<string, string>): ExporterInstance | undefined {
    if (name === '') return undefined;
    const exporter = this.#deps.exporters.get(name);
    if (!exporter) {
      const known = [...this.#deps.exporters.keys()].join(', ');
      throw new InvalidArgumentError(`unknown exporter "${name}" (kilnd supports: ${known})`);
    }
    return exporter.resolve(attrs);
  }

  async #runFrontendOrWait(
    req: SolveRequest__Output,
    build: Build,
    signal: AbortSignal,
  ): Promise<GatewayOutcome> {
    if (req.Frontend) {
      const frontend = this.#frontend(req.Frontend);
      const result = await frontend.solve(this.#bridge(build), req.FrontendAttrs, signal);
      return build.fromFrontend(result);
    }
    if (req.Definition && req.Definition.def.length > 0) {
      const def = { def: req.Definition.def, metadata: req.Definition.metadata };
      const result = build.addResult(def, loadDefinition(def as never));
      return { refId: result.id, metadata: {} };
    }
    // Gateway in the client (what buildctl always does): wait for LLBBridge.Return.
    return build.returned();
  }

  #frontend(name: string): Frontend {
    const frontend = this.#deps.frontends.get(name);
    if (!frontend) {
      const known = [...this.#deps.frontends.keys()].join(', ');
      throw new InvalidArgumentError(`unknown frontend "${name}" (kilnd supports: ${known})`);
    }
    return frontend;
  }

  async #export(
    build: Build,
    exporter: ExporterInstance,
    ref: ImmutableRef | undefined,
    outcome: GatewayOutcome,
    session: Parameters<ExporterInstance['export']>[0]['session'],
    signal: AbortSignal,
  ): Promise<Record<string, string>> {
    const digest = `sha256:${createHash('sha256')
      .update(`export-${randomBytes(8).toString('hex')}`)
      .digest('hex')}`;
    const started = Date.now();
    const job = build.job;
    job.write({ kind: 'vertex', digest, name: exporter.name, inputs: [], cached: false, started });
    // Per status id: when it started and its last figures, carried into later updates (a
    // `completed` update still says how many bytes were copied, as BuildKit's do).
    const statuses = new Map<string, { started: number; current: number; total: number }>();
    const progress: OpProgress = {
      status(id, update) {
        const now = Date.now();
        const prev = statuses.get(id);
        const next = {
          started: prev?.started ?? now,
          current: update.current ?? prev?.current ?? 0,
          total: update.total ?? prev?.total ?? 0,
        };
        statuses.set(id, next);
        job.write({
          kind: 'status',
          vertex: digest,
          id,
          name: id,
          ...next,
          timestamp: now,
          ...(update.completed ? { completed: now } : {}),
        });
      },
      log(stream, data) {
        job.write({ kind: 'log', vertex: digest, stream, data, timestamp: Date.now() });
      },
    };
    try {
      const response = await exporter.export({ ref, metadata: outcome.metadata, session, signal, progress });
      job.write({
        kind: 'vertex',
        digest,
        name: exporter.name,
        inputs: [],
        cached: false,
        started,
        completed: Date.now(),
      });
      return response;
    } catch (err) {
      job.write({
        kind: 'vertex',
        digest,
        name: exporter.name,
        inputs: [],
        cached: false,
        started,
        completed: Date.now(),
        error: (err as Error).message,
      });
      throw err;
    }
  }

  #bridge(build: Build): FrontendBridge {
    return createFrontendBridge(build, {
      resolveImageConfig: this.#deps.resolveImageConfig,
      workerPlatforms: this.#deps.worker.platforms.map((p) => ({
        os: p.OS,
        architecture: p.Architecture,
        ...(p.Variant ? { variant: p.Variant } : {}),
      })),
    });
  }

  async #gatewayBuild(metadata: grpc.Metadata, signal: AbortSignal): Promise<Build> {
    const id = metadata.get(buildIdHeader)[0];
    if (typeof id !== 'string' || id === '') {
      throw new InvalidArgumentError(`LLBBridge call without ${buildIdHeader} metadata`);
    }
    return this.#builds.wait(id, gatewayWaitMs, signal, 'build');
  }

  llbBridgeHandlers(): LLBBridgeHandlers {
    const log = this.#deps.log;
    const notSupported = (what: string) =>
      unary(log, what, async () => {
        throw new UnimplementedError(`${what} is not supported by kilnd yet`);
      });
    return {
      Ping: unary(log, 'Ping', async (_req, signal, md) => {
        await this.#gatewayBuild(md, signal);
        return { ...pongCaps(), Workers: [this.#workerRecord()] };
      }),
      Solve: unary(log, 'LLBBridge.Solve', async (req, signal, md) => {
        const build = await this.#gatewayBuild(md, signal);
        const buildSignal = AbortSignal.any([signal, build.signal]);
        if (req.Frontend) {
          const frontend = this.#frontend(req.Frontend);
          const result = await frontend.solve(this.#bridge(build), req.FrontendOpt, buildSignal);
          const ref = result.ref ? build.result(result.ref.id) : undefined;
          const metadata: Record<string, Buffer> = {};
          for (const [k, v] of Object.entries(result.metadata)) metadata[k] = Buffer.from(v);
          return {
            result: {
              ...(ref
                ? { ref: { id: ref.id, def: toDefinitionMessage(ref.definition) } }
                : { ref: { id: '' } }),
              metadata,
            },
          };
        }
        if (req.Definition && req.Definition.def.length > 0) {
          const def = { def: req.Definition.def, metadata: req.Definition.metadata };
          const result = build.addResult(def, loadDefinition(def as never));
          if (req.Evaluate) await result.materialize(buildSignal);
          return { result: { ref: { id: result.id, def: req.Definition }, metadata: {} } };
        }
        // An empty definition solves to an empty result.
        return { result: { ref: { id: '' }, metadata: {} } };
      }),
      Return: unary(log, 'Return', async (req, signal, md) => {
        const build = await this.#gatewayBuild(md, signal);
        if (req.error && req.error.code !== 0) {
          build.fail(errorFromReturnStatus(req.error));
          return {};
        }
        build.complete(outcomeFromResult(req.result));
        return {};
      }),
      ReadFile: unary(log, 'ReadFile', async (req, signal, md) => {
        const build = await this.#gatewayBuild(md, signal);
        const range = req.Range
          ? { offset: Number(req.Range.Offset), length: Number(req.Range.Length) }
          : undefined;
        const data = await this.#bridge(build).readFile({ id: req.Ref }, req.FilePath, signal, range);
        return { Data: Buffer.from(data) };
      }),
      ReadDir: unary(log, 'ReadDir', async (req, signal, md) => {
        const build = await this.#gatewayBuild(md, signal);
        const entries = await this.#bridge(build).readDir(
          { id: req.Ref },
          req.DirPath,
          signal,
          req.IncludePattern || undefined,
        );
        return { entries: entries.map(toStatMessage) };
      }),
      StatFile: unary(log, 'StatFile', async (req, signal, md) => {
        const build = await this.#gatewayBuild(md, signal);
        const st = await this.#bridge(build).statFile({ id: req.Ref }, req.Path, signal);
        return { stat: toStatMessage(st) };
      }),
      Inputs: unary(log, 'Inputs', async () => ({ Definitions: {} })),
      Evaluate: unary(log, 'Evaluate', async (req, signal, md) => {
        const build = await this.#gatewayBuild(md, signal);
        await build.result(req.Ref).materialize(AbortSignal.any([signal, build.signal]));
        return {};
      }),
      Warn: unary(log, 'Warn', async (req, signal, md) => {
        const build = await this.#gatewayBuild(md, signal);
        build.job.write({
          kind: 'warning',
          vertex: req.digest,
          level: Number(req.level),
          short: req.short.toString(),
          detail: req.detail.map((d) => d.toString()),
          url: req.url,
        });
        return {};
      }),
      ResolveImageConfig: unary(log, 'ResolveImageConfig', async (req, signal, md) => {
        const sessionIds = req.SessionID
          ? [req.SessionID]
          : md.get(buildIdHeader).length > 0
            ? [(await this.#gatewayBuild(md, signal)).sessionId]
            : [];
        const mode = req.ResolveMode;
        const platform = req.Platform
          ? {
              os: req.Platform.OS,
              architecture: req.Platform.Architecture,
              ...(req.Platform.Variant ? { variant: req.Platform.Variant } : {}),
            }
          : undefined;
        const { digest, config } = await this.#deps.resolveImageConfig(
          req.Ref,
          {
            ...(platform ? { platform } : {}),
            ...(mode === 'pull' || mode === 'local' || mode === 'default' ? { resolveMode: mode } : {}),
          },
          signal,
          sessionIds,
        );
        return { Digest: digest, Config: Buffer.from(config) };
      }),
      ResolveSourceMeta: notSupported('ResolveSourceMeta'),
      NewContainer: notSupported('NewContainer'),
      ReleaseContainer: notSupported('ReleaseContainer'),
      ExecProcess: (call) => {
        call.destroy(new UnimplementedError('ExecProcess is not supported by kilnd yet'));
      },
      ReadFileContainer: notSupported('ReadFileContainer'),
      ReadDirContainer: notSupported('ReadDirContainer'),
      StatFileContainer: notSupported('StatFileContainer'),
    };
  }
}

function outcomeFromResult(result: Result__Output | null): GatewayOutcome {
  if (!result) return { refId: undefined, metadata: {} };
  let refId: string | undefined;
  switch (result.result) {
    case 'ref':
      refId = result.ref?.id || undefined;
      break;
    case 'refDeprecated':
      refId = result.refDeprecated || undefined;
      break;
    case 'refs':
    case 'refsDeprecated':
      throw new UnimplementedError('multi-platform results (refs maps) are not supported by kilnd yet');
    case undefined:
      break;
  }
  return { refId, metadata: result.metadata };
}

function toDefinitionMessage(def: {
  def: readonly Uint8Array[];
  metadata: Readonly<Record<string, unknown>>;
}) {
  return { def: def.def.map((b) => Buffer.from(b)), metadata: def.metadata as Record<string, never> };
}

function toStatMessage(st: {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  modTime: bigint | number;
  linkname: string;
}) {
  return {
    path: st.path,
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    modTime: st.modTime.toString(),
    linkname: st.linkname,
  };
}

function toUsageRecord(r: UsageInfo): UsageRecord {
  const ts = (ms: number | undefined) =>
    ms === undefined ? null : { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
  return {
    ID: r.id,
    Mutable: r.mutable,
    InUse: r.inUse,
    Size: r.size,
    CreatedAt: ts(r.createdAt),
    LastUsedAt: ts(r.lastUsedAt),
    UsageCount: r.usageCount,
    Description: r.description,
    RecordType: r.recordType,
    Shared: r.shared,
    Parents: [...r.parents],
  };
}
