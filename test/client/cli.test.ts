import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../client/cmd/kilnctl.js';
import { loadGrpcServices } from '../../proto/index.js';

const hour = 3600;

function io() {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: { write: (t: string) => (out.stdout += t), isTTY: false },
      stderr: { write: (t: string) => (out.stderr += t), isTTY: false },
      stdin: Object.assign(Readable.from([]), { isTTY: true }),
      env: {},
    },
  };
}

describe('kilnctl commands', () => {
  let dir: string;
  let server: grpc.Server;
  let addr: string;
  const pruneRequests: unknown[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kilnctl-cli-'));
    const services = loadGrpcServices();
    server = new grpc.Server();
    const now = Math.floor(Date.now() / 1000);
    const record = (id: string, size: number, inUse: boolean) => ({
      ID: id,
      Mutable: false,
      InUse: inUse,
      Size: size,
      CreatedAt: { seconds: now - 5 * hour, nanos: 0 },
      LastUsedAt: { seconds: now - 3 * hour, nanos: 0 },
      UsageCount: 2,
      Description: `desc ${id}`,
      RecordType: 'regular',
      Shared: false,
      Parents: [],
    });
    server.addService(services.Control.service, {
      ListWorkers: (_c: unknown, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, {
          record: [
            {
              ID: 'kiln0',
              Labels: { 'org.mobyproject.buildkit.worker.executor': 'oci' },
              platforms: [
                { OS: 'linux', Architecture: 'amd64' },
                { OS: 'linux', Architecture: 'arm', Variant: 'v7' },
              ],
              GCPolicy: [{ all: true, keepDuration: 48 * hour * 1e9, keepBytes: 512e6, filters: [] }],
              BuildkitVersion: { package: 'kiln', version: '0.1.0', revision: 'abc' },
            },
          ],
        }),
      DiskUsage: (_c: unknown, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, { record: [record('aaaa', 2100, false), record('bbbb', 1_000_000, true)] }),
      Prune: (call: grpc.ServerWritableStream<unknown, unknown>) => {
        pruneRequests.push(call.request);
        call.write(record('aaaa', 2100, false));
        call.end();
      },
    });
    const sock = join(dir, 'd.sock');
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${sock}`, grpc.ServerCredentials.createInsecure(), (e) =>
        e ? reject(e) : resolve(),
      ),
    );
    addr = `unix://${sock}`;
  });
  afterEach(async () => {
    server.forceShutdown();
    await rm(dir, { recursive: true, force: true });
  });

  it('debug workers prints the table and verbose form', async () => {
    const a = io();
    expect(await main(['--addr', addr, 'debug', 'workers'], a.io, AbortSignal.timeout(5000))).toBe(0);
    expect(a.out.stdout).toBe('ID\tPLATFORMS\nkiln0\tlinux/amd64,linux/arm/v7\n');
    const b = io();
    expect(await main(['debug', 'workers', '-v', `--addr=${addr}`], b.io, AbortSignal.timeout(5000))).toBe(0);
    expect(b.out.stdout).toContain('Platforms:\tlinux/amd64,linux/arm/v7\n');
    expect(b.out.stdout).toContain(
      'GC Policy rule#0:\n\tAll:\t\ttrue\n\tKeep Duration:\t48h0m0s\n\tKeep Bytes:\t512MB\n',
    );
  });

  it('du prints the buildctl table and totals, or JSON', async () => {
    const a = io();
    expect(await main(['--addr', addr, 'du'], a.io, AbortSignal.timeout(5000))).toBe(0);
    const lines = a.out.stdout.split('\n');
    expect(lines[0]).toBe(`ID${'\t'.repeat(9)}RECLAIMABLE\tSIZE\tLAST ACCESSED`);
    expect(lines[1]).toBe(`${'aaaa'.padEnd(71)}\t${'true'.padEnd(11)}\t2.10kB\t3 hours ago`);
    expect(lines[2]).toBe(`${'bbbb'.padEnd(71)}\t${'false'.padEnd(11)}\t1.00MB\t3 hours ago`);
    expect(a.out.stdout).toContain('Reclaimable:\t2.10kB\nTotal:\t\t1.00MB\n');
    const b = io();
    expect(await main(['--addr', addr, 'du', '--format', 'json'], b.io, AbortSignal.timeout(5000))).toBe(0);
    const parsed = JSON.parse(b.out.stdout) as { ID: string; InUse: boolean }[];
    expect(parsed.map((r) => [r.ID, r.InUse])).toEqual([
      ['aaaa', false],
      ['bbbb', true],
    ]);
  });

  it('prune sends keep-duration in ns and keep-storage in bytes, then prints the total', async () => {
    const a = io();
    expect(
      await main(
        [
          '--addr',
          addr,
          'prune',
          '--keep-duration',
          '24h',
          '--keep-storage',
          '10',
          '--all',
          '-f',
          'type==regular',
        ],
        a.io,
        AbortSignal.timeout(5000),
      ),
    ).toBe(0);
    expect(pruneRequests.at(-1)).toMatchObject({
      keepDuration: 86_400e9,
      keepBytes: 10e6,
      all: true,
      filter: ['type==regular'],
    });
    expect(a.out.stdout).toContain('aaaa');
    expect(a.out.stdout.endsWith('Total:\t2.10kB\n')).toBe(true);
  });

  it('reports problems on stderr with a non-zero exit code', async () => {
    const a = io();
    expect(
      await main(['--addr', addr, 'prune', '--keep-duration', '3d'], a.io, AbortSignal.timeout(5000)),
    ).toBe(1);
    expect(a.out.stderr).toBe('error: time: unknown unit "d" in duration "3d"\n');
    const b = io();
    expect(
      await main(['--addr', `unix://${join(dir, 'nope.sock')}`, 'du'], b.io, AbortSignal.timeout(5000)),
    ).toBe(1);
    expect(b.out.stderr).toBe(
      `error: cannot connect to kilnd at unix://${join(dir, 'nope.sock')}: no socket at ${join(dir, 'nope.sock')}; is it running?\n`,
    );
    const c = io();
    expect(await main(['--addr', addr, 'build', '--progress=plain'], c.io, AbortSignal.timeout(5000))).toBe(
      1,
    );
    expect(c.out.stderr).toBe('error: please specify --frontend or pipe LLB definition to stdin\n');
    const d = io();
    expect(await main(['--version'], d.io, AbortSignal.timeout(5000))).toBe(0);
    expect(d.out.stdout).toMatch(/^kilnctl kiln \d+\.\d+\.\d+\n$/u);
  });
});
