import { basename } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CanceledError } from '../proto/errors.js';
import type { Status } from '../proto/generated/google/rpc/Status.js';
import type { Result } from '../proto/generated/moby/buildkit/v1/frontend/Result.js';
import type { SolveResponse__Output as BridgeSolveResponse } from '../proto/generated/moby/buildkit/v1/frontend/SolveResponse.js';
import type { ListWorkersRequest } from '../proto/generated/moby/buildkit/v1/ListWorkersRequest.js';
import type { ListWorkersResponse__Output } from '../proto/generated/moby/buildkit/v1/ListWorkersResponse.js';
import type { SolveRequest as ControlSolveRequest } from '../proto/generated/moby/buildkit/v1/SolveRequest.js';
import type { SolveResponse__Output as ControlSolveResponse } from '../proto/generated/moby/buildkit/v1/SolveResponse.js';
import type { StatusResponse__Output } from '../proto/generated/moby/buildkit/v1/StatusResponse.js';
import type { Policy } from '../proto/generated/moby/buildkit/v1/sourcepolicy/Policy.js';
import type { WorkerRecord__Output } from '../proto/generated/moby/buildkit/v1/types/WorkerRecord.js';
import type { Definition } from '../proto/generated/pb/Definition.js';
import { resolveCacheOptions } from './cache-options.js';
import type {
  CacheOptionsEntry,
  Entitlement,
  ExportEntry,
  SecretSource,
  SshAgentConfig,
} from './commands/build-options.js';
import type { DaemonConnection } from './connection.js';
import { fromStatusResponse, type SolveStatus } from './progress/solve-status.js';
import { fromGrpcError, statusDetails } from './remote-error.js';
import { isServiceError, readServerStream, unaryCall } from './rpc.js';
import { secretsAttachable } from './secrets-attachable.js';
import { sshAgentAttachable } from './session/ssh-provider.js';
import type { SessionAttachable } from './session/attachable.js';
import { authProvider } from './session/auth-provider.js';
import { fileSendTarget } from './session/filesend-target.js';
import { fileSyncProvider } from './session/filesync-provider.js';
import { newSessionId } from './session/session-id.js';
import type { ClientSession, StartSessionOptions } from './session/start-session.js';
import { startSession as realStartSession } from './session/start-session.js';

/** gRPC metadata key that routes LLBBridge calls to a build (BuildKit client/buildid). */
export const buildIdMetadataKey = 'buildkit-controlapi-buildid';
/** How long the client keeps retrying the first gateway call while the daemon registers the build. */
const gatewayRegisterWaitMs = 3_000;
const gatewayRetryDelayMs = 100;
/** After Solve returns, the status stream gets this long to end by itself (BuildKit: 3 s). */
const statusDrainMs = 3_000;

export interface BuildOptions {
  /** `--frontend`, e.g. `dockerfile.v0`; without it `definition` is solved. */
  readonly frontend?: string;
  /** Marshaled LLB from stdin, decoded. Used when no frontend is given. */
  readonly definition?: Definition;
  /** `--opt` values (plus `no-cache` when requested). */
  readonly frontendAttrs: Readonly<Record<string, string>>;
  readonly localDirs: Readonly<Record<string, string>>;
  readonly exporter?: ExportEntry;
  readonly cacheExports?: readonly CacheOptionsEntry[];
  readonly cacheImports?: readonly CacheOptionsEntry[];
  readonly secrets?: readonly SecretSource[];
  readonly ssh?: readonly SshAgentConfig[];
  readonly entitlements?: readonly Entitlement[];
  /** `--source-policy-file`. */
  readonly sourcePolicy?: Policy;
  /** Session name; buildctl uses basename(cwd). */
  readonly sessionName?: string;
  readonly sharedKey?: string;
  /** Called for every progress message, in order. */
  readonly onStatus?: (status: SolveStatus) => void;
  /** Client-side warnings (e.g. a skipped cache import). */
  readonly onWarning?: (message: string) => void;
  readonly signal: AbortSignal;
}

export interface BuildResult {
  readonly ref: string;
  readonly sessionId: string;
  readonly exporterResponse: Readonly<Record<string, string>>;
  readonly workers: readonly WorkerRecord__Output[];
  /** The frontend's result metadata (e.g. `result.txt` for `--opt requestid=…` subrequests). */
  readonly resultMetadata: Readonly<Record<string, Buffer>>;
}

export interface BuildDeps {
  readonly startSession?: (opts: StartSessionOptions) => Promise<ClientSession>;
  readonly newId?: () => string;
}

function buildMetadata(ref: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(buildIdMetadataKey, ref);
  return md;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The google.rpc.Status sent in Return{error}: the daemon's own status when we have it. */
function toRpcStatus(err: unknown): Status {
  const full = statusDetails(err);
  if (full !== undefined) return full;
  if (isServiceError(err)) return { code: err.code, message: err.details, details: [] };
  return {
    code: grpc.status.UNKNOWN,
    message: err instanceof Error ? err.message : String(err),
    details: [],
  };
}

/** Echoes a gateway result, metadata included (the exporter reads e.g. `containerimage.config`). */
function echoResult(res: BridgeSolveResponse): Result {
  const r = res.result;
  if (r === null || r === undefined) {
    // A daemon without `return` support only gives the legacy single ref.
    return { refDeprecated: res.ref };
  }
  const out: Result = { metadata: r.metadata, attestations: r.attestations };
  switch (r.result) {
    case 'ref':
      out.ref = r.ref ?? null;
      break;
    case 'refs':
      out.refs = r.refs ?? null;
      break;
    case 'refDeprecated':
      out.refDeprecated = r.refDeprecated ?? '';
      break;
    case 'refsDeprecated':
      out.refsDeprecated = r.refsDeprecated ?? null;
      break;
    case undefined:
      break;
    default: {
      const never: never = r.result;
      void never;
    }
  }
  return out;
}

function sessionAttachables(opts: BuildOptions, signal: AbortSignal): SessionAttachable[] {
  const list: SessionAttachable[] = [fileSyncProvider(opts.localDirs, signal), authProvider({}, signal)];
  if (opts.secrets !== undefined && opts.secrets.length > 0) list.push(secretsAttachable(opts.secrets));
  if (opts.ssh !== undefined && opts.ssh.length > 0) list.push(sshAgentAttachable(opts.ssh));
  const target = opts.exporter?.target;
  switch (target?.kind) {
    case 'dir':
      list.push(fileSendTarget({ kind: 'dir', dir: target.dir }, signal));
      break;
    case 'file':
      list.push(fileSendTarget({ kind: 'file', path: target.path }, signal));
      break;
    case 'stdout':
      list.push(fileSendTarget({ kind: 'file', path: '-' }, signal));
      break;
    case 'none':
    case undefined:
      break;
    default: {
      const never: never = target;
      void never;
    }
  }
  return list;
}

/**
 * One build, exactly as buildctl drives it ("gateway in the client"): ListWorkers, a session, then
 * in parallel Control.Solve (no frontend, no definition), Control.Status, and the LLBBridge calls
 * Ping → Solve → Return tagged with the build id, which the daemon routes to the waiting Solve.
 */
export async function runBuild(
  conn: DaemonConnection,
  opts: BuildOptions,
  deps: BuildDeps = {},
): Promise<BuildResult> {
  const startSession = deps.startSession ?? realStartSession;
  const newId = deps.newId ?? newSessionId;
  const outer = opts.signal;

  const workersResp = await unaryCall<ListWorkersRequest, ListWorkersResponse__Output>(
    conn.control.ListWorkers.bind(conn.control),
    { filter: [] },
    { signal: outer },
  ).catch((err: unknown) => {
    throw fromGrpcError(err, 'listing workers for Build');
  });

  const cache = await resolveCacheOptions(opts.cacheExports ?? [], opts.cacheImports ?? []);
  for (const w of cache.warnings) opts.onWarning?.(w);
  const frontendAttrs = { ...opts.frontendAttrs, ...cache.frontendAttrs };

  const buildAbort = new AbortController();
  const onOuterAbort = () => buildAbort.abort(outer.reason);
  outer.addEventListener('abort', onOuterAbort, { once: true });
  const signal = buildAbort.signal;

  const session = await startSession({
    conn: conn.control,
    name: opts.sessionName ?? basename(process.cwd()),
    sharedKey: opts.sharedKey ?? '',
    attachables: sessionAttachables(opts, signal),
    signal,
  });

  const ref = newId();
  const md = () => buildMetadata(ref);
  const statusAbort = new AbortController();
  signal.addEventListener('abort', () => statusAbort.abort(signal.reason), { once: true });

  const solveRequest: ControlSolveRequest = {
    Ref: ref,
    Session: session.id,
    Exporter: opts.exporter?.type ?? '',
    ExporterAttrs: { ...(opts.exporter?.attrs ?? {}) },
    Frontend: '',
    FrontendAttrs: frontendAttrs,
    Cache: {
      Exports: cache.exports.map((e) => ({ Type: e.type, Attrs: { ...e.attrs } })),
      Imports: cache.imports.map((e) => ({ Type: e.type, Attrs: { ...e.attrs } })),
    },
    Entitlements: [...(opts.entitlements ?? [])],
    ...(opts.sourcePolicy === undefined ? {} : { SourcePolicy: opts.sourcePolicy }),
  };

  let solveDone = false;
  let solveError: unknown;
  const solvePromise = unaryCall<ControlSolveRequest, ControlSolveResponse>(
    conn.control.Solve.bind(conn.control),
    solveRequest,
    { signal },
  ).then(
    (res) => {
      solveDone = true;
      return res;
    },
    (err: unknown) => {
      solveDone = true;
      solveError = err;
      throw err;
    },
  );

  const statusPromise = readServerStream(
    conn.control.Status({ Ref: ref }),
    (msg: StatusResponse__Output) => opts.onStatus?.(fromStatusResponse(msg)),
    statusAbort.signal,
  );

  let resultMetadata: Readonly<Record<string, Buffer>> = {};
  const gatewayPromise = (async () => {
    const bridge = conn.bridge;
    const deadline = Date.now() + gatewayRegisterWaitMs;
    // The daemon registers the build only once Solve arrives; retry the first call briefly.
    for (;;) {
      try {
        await unaryCall(bridge.Ping.bind(bridge), {}, { metadata: md(), signal });
        break;
      } catch (err) {
        if (signal.aborted || solveDone || Date.now() >= deadline) throw err;
        await sleep(gatewayRetryDelayMs, signal);
      }
    }
    let solved: BridgeSolveResponse;
    try {
      solved = await unaryCall(
        bridge.Solve.bind(bridge),
        {
          Frontend: opts.frontend ?? '',
          FrontendOpt: frontendAttrs,
          ...(opts.frontend === undefined || opts.frontend === ''
            ? { Definition: opts.definition ?? null }
            : {}),
          allowResultReturn: true,
          allowResultArrayRef: true,
          CacheImports: cache.imports.map((e) => ({ Type: e.type, Attrs: { ...e.attrs } })),
        },
        { metadata: md(), signal },
      );
    } catch (err) {
      await unaryCall(
        bridge.Return.bind(bridge),
        { error: toRpcStatus(err) },
        { metadata: md(), signal },
      ).catch(() => {});
      throw err;
    }
    resultMetadata = solved.result?.metadata ?? {};
    await unaryCall(bridge.Return.bind(bridge), { result: echoResult(solved) }, { metadata: md(), signal });
  })();

  let drainTimer: NodeJS.Timeout | undefined;
  void solvePromise
    .catch(() => {})
    .finally(() => {
      // A daemon that never ends the stream must not hang the client after the build is over.
      drainTimer = setTimeout(
        () => statusAbort.abort(new CanceledError('status stream did not end')),
        statusDrainMs,
      );
      drainTimer.unref();
    });

  try {
    const [solveRes, gatewayRes, statusRes] = await Promise.allSettled([
      solvePromise,
      gatewayPromise,
      statusPromise,
    ]);
    if (outer.aborted) {
      const r: unknown = outer.reason;
      throw r instanceof Error ? r : new CanceledError(`canceled: ${String(r)}`);
    }
    if (solveRes.status === 'rejected') throw fromGrpcError(solveError, 'failed to solve');
    if (gatewayRes.status === 'rejected')
      throw fromGrpcError(gatewayRes.reason, 'failed to run Build function');
    if (statusRes.status === 'rejected' && !statusAbort.signal.aborted) {
      opts.onWarning?.(`progress stream failed: ${fromGrpcError(statusRes.reason).message}`);
    }
    return {
      ref,
      sessionId: session.id,
      exporterResponse: solveRes.value.ExporterResponse,
      workers: workersResp.record,
      resultMetadata,
    };
  } finally {
    if (drainTimer !== undefined) clearTimeout(drainTimer);
    outer.removeEventListener('abort', onOuterAbort);
    await session.close();
    if (!buildAbort.signal.aborted) buildAbort.abort(new CanceledError('build finished'));
  }
}
