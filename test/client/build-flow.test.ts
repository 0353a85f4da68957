import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBuild } from '../../client/build.js';
import { connect, type DaemonConnection } from '../../client/connection.js';
import type { SolveStatus } from '../../client/progress/solve-status.js';
import { loadGrpcServices } from '../../proto/index.js';

type Call = { method: string; buildId?: string; request?: unknown; sessionId?: string };

interface FakeOptions {
  failFrontend?: string;
}

/** A tiny stand-in for the daemon: records calls and routes LLBBridge by build id, like BuildKit. */
function fakeDaemon(opts: FakeOptions = {}) {
  const services = loadGrpcServices();
  const calls: Call[] = [];
  const builds = new Map<
    string,
    { returned: (r: { result?: unknown; error?: { code: number; message: string } }) => void }
  >();
  const waiting = new Map<string, Promise<{ result?: unknown; error?: { code: number; message: string } }>>();
  const finished = new Map<string, () => void>();
  const server = new grpc.Server();
  const buildId = (md: grpc.Metadata) => {
    const v = md.get('buildkit-controlapi-buildid')[0];
    return typeof v === 'string' ? v : undefined;
  };
  server.addService(services.Control.service, {
    ListWorkers: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      calls.push({ method: 'ListWorkers' });
      cb(null, { record: [{ ID: 'w0', Labels: {}, platforms: [{ OS: 'linux', Architecture: 'amd64' }] }] });
    },
    Session: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
      const id = call.metadata.get('x-docker-expose-session-uuid')[0];
      calls.push({ method: 'Session', sessionId: String(id) });
      call.on('data', () => {});
      call.on('end', () => call.end());
    },
    Solve: (call: grpc.ServerUnaryCall<{ Ref: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const req = call.request;
      calls.push({ method: 'Control.Solve', request: req });
      const p = new Promise<{ result?: unknown; error?: { code: number; message: string } }>((resolve) => {
        builds.set(req.Ref, { returned: resolve });
      });
      waiting.set(req.Ref, p);
      void p.then((r) => {
        finished.get(req.Ref)?.();
        if (r.error) cb({ code: r.error.code, details: r.error.message });
        else cb(null, { ExporterResponse: { 'containerimage.digest': 'sha256:abc' } });
      });
    },
    Status: (call: grpc.ServerWritableStream<{ Ref: string }, unknown>) => {
      calls.push({ method: 'Status', request: call.request });
      const now = { seconds: 1_700_000_000, nanos: 0 };
      call.write({
        vertexes: [{ digest: 'sha256:v1', name: '[internal] load build definition', started: now }],
      });
      finished.set(call.request.Ref, () => {
        call.write({
          vertexes: [
            { digest: 'sha256:v1', name: '[internal] load build definition', started: now, completed: now },
          ],
        });
        call.end();
      });
    },
  });
  const bridgeCheck = (
    md: grpc.Metadata,
    method: string,
    request: unknown,
    cb: grpc.sendUnaryData<unknown>,
  ) => {
    const id = buildId(md);
    calls.push({ method, ...(id === undefined ? {} : { buildId: id }), request });
    if (id === undefined || !builds.has(id)) {
      cb({ code: grpc.status.NOT_FOUND, details: `no such job ${id}` });
      return false;
    }
    return true;
  };
  server.addService(services.LLBBridge.service, {
    Ping: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      if (bridgeCheck(call.metadata, 'Ping', call.request, cb))
        cb(null, { FrontendAPICaps: [], LLBCaps: [], Workers: [] });
    },
    Solve: (call: grpc.ServerUnaryCall<{ Frontend: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      if (!bridgeCheck(call.metadata, 'Bridge.Solve', call.request, cb)) return;
      if (opts.failFrontend !== undefined) {
        cb({ code: grpc.status.INVALID_ARGUMENT, details: opts.failFrontend });
        return;
      }
      cb(null, {
        result: {
          ref: { id: 'res-1', def: null },
          metadata: { 'containerimage.config': Buffer.from('{"architecture":"amd64"}') },
        },
      });
    },
    Return: (
      call: grpc.ServerUnaryCall<{ result?: unknown; error?: { code: number; message: string } }, unknown>,
      cb: grpc.sendUnaryData<unknown>,
    ) => {
      if (!bridgeCheck(call.metadata, 'Return', call.request, cb)) return;
      const id = buildId(call.metadata) ?? '';
      builds.get(id)?.returned(call.request);
      cb(null, {});
    },
  });
  return { server, calls, services };
}

describe('runBuild wire flow', () => {
  let dir: string;
  let conn: DaemonConnection | undefined;
  let server: grpc.Server | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kilnctl-build-'));
  });
  afterEach(async () => {
    conn?.close();
    conn = undefined;
    server?.forceShutdown();
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function start(opts: FakeOptions = {}) {
    const fake = fakeDaemon(opts);
    server = fake.server;
    const sock = join(dir, 'd.sock');
    await new Promise<void>((resolve, reject) =>
      fake.server.bindAsync(`unix://${sock}`, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    conn = await connect(fake.services, { addr: `unix://${sock}`, timeoutSeconds: 2 });
    return fake;
  }

  it('calls ListWorkers, Session, Solve, Status and Ping/Solve/Return with the build id', async () => {
    const fake = await start();
    const statuses: SolveStatus[] = [];
    const out = join(dir, 'out');
    const res = await runBuild(
      conn as DaemonConnection,
      {
        frontend: 'dockerfile.v0',
        frontendAttrs: { target: 'x', 'no-cache': '' },
        localDirs: { context: dir, dockerfile: dir },
        exporter: { type: 'local', attrs: {}, target: { kind: 'dir', dir: out } },
        entitlements: ['network.host'],
        signal: AbortSignal.timeout(10_000),
        onStatus: (s) => statuses.push(s),
      },
      { newId: () => 'buildref0000000000000000a' },
    );
    expect(res.exporterResponse).toEqual({ 'containerimage.digest': 'sha256:abc' });
    expect(res.workers.map((w) => w.ID)).toEqual(['w0']);

    const methods = fake.calls.map((c) => c.method);
    expect(methods[0]).toBe('ListWorkers');
    expect(methods.indexOf('Session')).toBeLessThan(methods.indexOf('Control.Solve'));
    const ping = methods.lastIndexOf('Ping');
    expect(ping).toBeLessThan(methods.indexOf('Bridge.Solve'));
    expect(methods.indexOf('Bridge.Solve')).toBeLessThan(methods.indexOf('Return'));

    const solve = fake.calls.find((c) => c.method === 'Control.Solve')?.request as Record<string, unknown>;
    const sessionId = fake.calls.find((c) => c.method === 'Session')?.sessionId;
    expect(solve.Ref).toBe('buildref0000000000000000a');
    expect(solve.Session).toBe(sessionId);
    expect(solve.Frontend).toBe('');
    expect(solve.Definition).toBeNull();
    expect(solve.Exporter).toBe('local');
    expect(solve.ExporterAttrs).toEqual({});
    expect(solve.FrontendAttrs).toEqual({ target: 'x', 'no-cache': '' });
    expect(solve.Entitlements).toEqual(['network.host']);

    // Every gateway call that reached a registered build carried the Solve's Ref.
    const bridgeCalls = fake.calls.filter((c) => ['Ping', 'Bridge.Solve', 'Return'].includes(c.method));
    expect(bridgeCalls.at(-1)?.buildId).toBe('buildref0000000000000000a');
    const bridgeSolve = fake.calls.find((c) => c.method === 'Bridge.Solve')?.request as Record<
      string,
      unknown
    >;
    expect(bridgeSolve.Frontend).toBe('dockerfile.v0');
    expect(bridgeSolve.FrontendOpt).toEqual({ target: 'x', 'no-cache': '' });
    expect(bridgeSolve.allowResultReturn).toBe(true);
    expect(bridgeSolve.allowResultArrayRef).toBe(true);

    const ret = fake.calls.find((c) => c.method === 'Return')?.request as {
      result: { ref: { id: string }; metadata: Record<string, Buffer> };
      error: unknown;
    };
    expect(ret.result.ref.id).toBe('res-1');
    expect(ret.result.metadata['containerimage.config']?.toString()).toBe('{"architecture":"amd64"}');
    expect(ret.error).toBeNull();

    expect(statuses.length).toBe(2);
    expect(statuses[1]?.vertexes[0]?.completed).toBeDefined();
  });

  it('sends Return{error} when the frontend fails and reports the daemon error once', async () => {
    const fake = await start({ failFrontend: 'dockerfile parse error on line 3: unknown instruction: FORM' });
    const err = await runBuild(conn as DaemonConnection, {
      frontend: 'dockerfile.v0',
      frontendAttrs: {},
      localDirs: {},
      signal: AbortSignal.timeout(10_000),
    }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(
      'failed to solve: dockerfile parse error on line 3: unknown instruction: FORM',
    );
    const ret = fake.calls.find((c) => c.method === 'Return')?.request as {
      error: { code: number; message: string };
    };
    expect(ret.error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(ret.error.message).toBe('dockerfile parse error on line 3: unknown instruction: FORM');
  });

  it('sends the stdin definition when no frontend is given', async () => {
    const fake = await start();
    await runBuild(conn as DaemonConnection, {
      definition: { def: [Buffer.from([1, 2]), Buffer.from([3])], metadata: {} },
      frontendAttrs: {},
      localDirs: {},
      signal: AbortSignal.timeout(10_000),
    });
    const bridgeSolve = fake.calls.find((c) => c.method === 'Bridge.Solve')?.request as {
      Frontend: string;
      Definition: { def: Buffer[] };
    };
    expect(bridgeSolve.Frontend).toBe('');
    expect(bridgeSolve.Definition.def.map((b) => [...b])).toEqual([[1, 2], [3]]);
  });

  it('fails with a clear message when nothing listens', async () => {
    const services = loadGrpcServices();
    const addr = `unix://${join(dir, 'missing.sock')}`;
    await expect(connect(services, { addr, timeoutSeconds: 1 })).rejects.toThrow(
      `cannot connect to kilnd at ${addr}: no socket at ${join(dir, 'missing.sock')}; is it running?`,
    );
  });
});
