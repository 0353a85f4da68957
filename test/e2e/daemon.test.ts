import { execFileSync, spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  dockerfileBuildArgs,
  kilnctl,
  type Kilnd,
  kilndBin,
  repoRoot,
  startKilnd,
  tempDir,
} from './harness.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makeCerts(dir: string): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca-key.pem',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=kiln-test-ca',
  );
  for (const who of ['server', 'client']) {
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${who}-key.pem`,
      '-out',
      `${who}.csr`,
      '-subj',
      `/CN=${who === 'server' ? '127.0.0.1' : 'kiln-client'}`,
    );
    execFileSync(
      'sh',
      [
        '-c',
        `printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=${who === 'server' ? 'serverAuth' : 'clientAuth'}\\n' > ${who}.ext`,
      ],
      { cwd: dir },
    );
    ssl(
      'x509',
      '-req',
      '-in',
      `${who}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-out',
      `${who}.pem`,
      '-days',
      '2',
      '-extfile',
      `${who}.ext`,
    );
  }
}

describe('kilnd as a daemon', () => {
  let kilnd: Kilnd;
  let work: string;

  beforeAll(async () => {
    kilnd = await startKilnd();
    work = await tempDir('daemon');
  });
  afterAll(async () => {
    await kilnd?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('a socket in use by another daemon is a clear error, and the first keeps serving', async () => {
    const out = execFileSyncResult([
      kilndBin,
      '--addr',
      kilnd.addr,
      '--root',
      path.join(work, 'second-root'),
    ]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/socket .* is in use/);
    const ok = await kilnctl(['--addr', kilnd.addr, 'debug', 'workers']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/linux\/amd64/);
  });

  test('BUILDKIT_HOST selects the daemon', async () => {
    const r = await kilnctl(['debug', 'workers', '--format', 'json'], { env: { BUILDKIT_HOST: kilnd.addr } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(r.stdout))).toMatch(/amd64/);
    const none = await kilnctl(['debug', 'workers'], {
      env: { BUILDKIT_HOST: `unix://${work}/nothing.sock` },
    });
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/cannot connect/);
  });

  test('tcp:// with mutual TLS from a config file', async () => {
    makeCerts(work);
    const port = await freePort();
    const config = path.join(work, 'kilnd.toml');
    await writeFile(
      config,
      `[grpc]\naddress = ["tcp://127.0.0.1:${port}"]\n[grpc.tls]\ncert = "${work}/server.pem"\nkey = "${work}/server-key.pem"\nca = "${work}/ca.pem"\n[history]\nmaxAge = 1\n`,
    );
    const child = spawn(
      process.execPath,
      [kilndBin, '--config', config, '--root', path.join(work, 'tls-root')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let log = '';
    child.stderr.on('data', (d: Buffer) => {
      log += d.toString();
    });
    try {
      for (let i = 0; i < 100 && !/listening/.test(log); i++) await new Promise((r) => setTimeout(r, 50));
      expect(log).toMatch(/unknown key "history" ignored/);
      const addr = `tcp://127.0.0.1:${port}`;
      const withCert = await kilnctl([
        '--addr',
        addr,
        '--tlscacert',
        `${work}/ca.pem`,
        '--tlscert',
        `${work}/client.pem`,
        '--tlskey',
        `${work}/client-key.pem`,
        'debug',
        'workers',
      ]);
      expect(withCert.code, withCert.stderr).toBe(0);
      const withoutCert = await kilnctl([
        '--addr',
        addr,
        '--tlscacert',
        `${work}/ca.pem`,
        'debug',
        'workers',
      ]);
      expect(withoutCert.code).not.toBe(0);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });

  test('--metadata-file writes the exporter response as JSON', async () => {
    const ctx = path.join(repoRoot, 'test/fixtures/e2e/multistage');
    const meta = path.join(work, 'meta.json');
    const r = await kilnctl([
      ...dockerfileBuildArgs(kilnd.addr, ctx),
      '--output',
      `type=tar,dest=${path.join(work, 'o.tar')}`,
      '--metadata-file',
      meta,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(await readFile(meta, 'utf8'))).toBeTypeOf('object');
  });

  test('SIGTERM shuts down cleanly and removes the socket', async () => {
    const d = await startKilnd();
    expect(await d.stop()).toBe(0);
    expect(d.output()).toMatch(/SIGTERM received, shutting down/);
  });
});

function execFileSyncResult(args: string[]): { code: number; stderr: string } {
  try {
    execFileSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { status?: number; stderr?: Buffer };
    return { code: e.status ?? 1, stderr: e.stderr?.toString() ?? '' };
  }
}
