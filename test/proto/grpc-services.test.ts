import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { encodeMessage } from '../../proto/codec.js';
import { codecServiceDefinition } from '../../proto/codec-service.js';
import { loadGrpcServices, protoDir, protoFiles } from '../../proto/index.js';
import { buildSchema, loadRoot } from '../../proto/schema.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

describe('gRPC services', () => {
  afterEach(() => vi.restoreAllMocks());

  it('loads every service with exact BuildKit method paths and no missing imports', () => {
    const warn = vi.spyOn(process, 'emitWarning');
    const s = loadGrpcServices();
    expect(warn).not.toHaveBeenCalled();
    expect(s.Control.service.Solve.path).toBe('/moby.buildkit.v1.Control/Solve');
    expect(s.Control.service.Session.path).toBe('/moby.buildkit.v1.Control/Session');
    expect(Object.keys(s.Control.service).sort()).toEqual(
      [
        'DiskUsage',
        'Info',
        'ListWorkers',
        'ListenBuildHistory',
        'Prune',
        'Session',
        'Solve',
        'Status',
        'UpdateBuildHistory',
      ].sort(),
    );
    expect(s.Control.service.Status.responseStream).toBe(true);
    expect(s.Control.service.Session.requestStream).toBe(true);
    expect(s.LLBBridge.service.Return.path).toBe('/moby.buildkit.v1.frontend.LLBBridge/Return');
    expect(s.LLBBridge.service.ExecProcess.requestStream).toBe(true);
    for (const m of [
      'ResolveImageConfig',
      'Solve',
      'ReadFile',
      'ReadDir',
      'StatFile',
      'Evaluate',
      'Ping',
      'Inputs',
    ]) {
      expect(Object.keys(s.LLBBridge.service)).toContain(m);
    }
    for (const m of ['NewContainer', 'ReleaseContainer', 'Warn'])
      expect(Object.keys(s.LLBBridge.service)).toContain(m);
    expect(s.FileSync.service.DiffCopy.path).toBe('/moby.filesync.v1.FileSync/DiffCopy');
    expect(s.FileSend.service.DiffCopy.path).toBe('/moby.filesync.v1.FileSend/DiffCopy');
    expect(s.Auth.service.Credentials.path).toBe('/moby.filesync.v1.Auth/Credentials');
    expect(s.Auth.service.FetchToken.path).toBe('/moby.filesync.v1.Auth/FetchToken');
    expect(s.Secrets.service.GetSecret.path).toBe('/moby.buildkit.secrets.v1.Secrets/GetSecret');
    expect(s.SSH.service.ForwardAgent.path).toBe('/moby.sshforward.v1.SSH/ForwardAgent');
    expect(s.Health.service.Check.path).toBe('/grpc.health.v1.Health/Check');
  });

  it('proto-loader (de)serializers agree with the codec', () => {
    const s = loadGrpcServices();
    const solve = s.LLBBridge.service.Solve;
    const req = {
      Frontend: 'dockerfile.v0',
      FrontendOpt: { filename: 'Dockerfile' },
      allowResultReturn: true,
    };
    const decoded = solve.requestDeserialize(
      Buffer.from(encodeMessage('moby.buildkit.v1.frontend.SolveRequest', req)),
    );
    expect(decoded).toMatchObject(req);
    expect(decoded.Definition).toBeNull();
    expect(decoded.CacheImports).toEqual([]);
    // No zero values and no maps: protobufjs and the codec must then produce identical bytes.
    const value = { vertexes: [{ digest: 'sha256:1', name: 'x', started: { seconds: 1, nanos: 2 } }] };
    const viaLoader = Buffer.from(s.Control.service.Status.responseSerialize(value)).toString('hex');
    expect(viaLoader).toBe(
      Buffer.from(encodeMessage('moby.buildkit.v1.StatusResponse', value)).toString('hex'),
    );
    // A Date is accepted for Timestamp fields: 1500 ms = {seconds: 1, nanos: 500000000}.
    const fromDate = encodeMessage('google.protobuf.Timestamp', new Date(1500));
    expect(Buffer.from(fromDate).toString('hex')).toBe(
      Buffer.from(encodeMessage('google.protobuf.Timestamp', { seconds: 1, nanos: 500_000_000 })).toString(
        'hex',
      ),
    );
  });

  it('codecServiceDefinition matches the proto-loader paths and keeps exact int64s', () => {
    const s = loadGrpcServices();
    const def = codecServiceDefinition('moby.filesync.v1.FileSync', { longs: 'bigint' });
    expect(Object.keys(def).sort()).toEqual(Object.keys(s.FileSync.service).sort());
    const diffCopy = def.DiffCopy;
    expect(diffCopy?.path).toBe(s.FileSync.service.DiffCopy.path);
    expect(diffCopy?.requestStream && diffCopy.responseStream).toBe(true);
    const modTime = 1_712_345_678_901_234_567n;
    const wire = diffCopy?.requestSerialize({ type: 0, stat: { path: 'f', modTime } });
    const back = diffCopy?.requestDeserialize(wire as Buffer) as { stat: { modTime: bigint } };
    expect(back.stat.modTime).toBe(modTime);
    const client = grpc.makeGenericClientConstructor(def, 'FileSync');
    expect(typeof client).toBe('function');
    expect(() => codecServiceDefinition('moby.filesync.v1.Nope')).toThrow(/unknown gRPC service/);
  });
});

describe('proto directory', () => {
  const dist = mkdtempSync(join(tmpdir(), 'kiln-dist-proto-'));
  afterAll(() => rmSync(dist, { recursive: true, force: true }));

  it('lists the .proto files beside the sources', () => {
    expect(protoDir()).toBe(join(repoRoot, 'proto/'));
    expect(protoFiles()).toContain('pb/ops.proto');
    expect(protoFiles()).toContain('moby/buildkit/v1/control.proto');
  });

  it('copy-protos.mjs produces a self-contained copy that both loaders accept', () => {
    execFileSync(process.execPath, [join(repoRoot, 'proto', 'tools', 'copy-protos.mjs'), dist], {
      stdio: 'ignore',
    });
    expect(protoFiles(dist)).toEqual(protoFiles());
    const services = loadGrpcServices(dist);
    expect(services.Control.service.ListWorkers.path).toBe('/moby.buildkit.v1.Control/ListWorkers');
    const schema = buildSchema(loadRoot(dist));
    expect(schema.message('pb.Op').fields.map((f) => f.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 10, 11]);
  });
});
