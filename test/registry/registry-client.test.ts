import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseImageName } from '../../daemon/source/image/reference.js';
import { MediaTypes, RegistryClient, type RegistryAuth } from '../../daemon/source/image/registry-client.js';
import { createContentStore } from '../../worker/content/store.js';
import { pushBusyboxImage, tarEntries } from '../support/base-image.js';
import { type TestRegistry, startRegistry } from '../support/registry.js';

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const once = (b: Uint8Array) =>
  async function* () {
    yield b;
  };
const amd64 = { os: 'linux', architecture: 'amd64' } as const;

let reg: TestRegistry;
let tmp: string;
const signal = () => AbortSignal.timeout(60_000);

beforeAll(async () => {
  reg = await startRegistry();
  tmp = await mkdtemp(path.join(tmpdir(), 'kiln-regtest-'));
});
afterAll(async () => {
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('registry client against docker-registry', () => {
  it('pushes the busybox base image that skopeo can inspect, and resolves it back', async () => {
    const pushed = await pushBusyboxImage(reg.host);
    expect(pushed.ref).toBe(`${reg.host}/busybox:latest`);
    const { stdout } = await promisify(execFile)('skopeo', [
      'inspect',
      '--tls-verify=false',
      `docker://${reg.host}/busybox:latest`,
    ]);
    const info = JSON.parse(stdout) as { Digest: string; Architecture: string; Os: string; Layers: string[] };
    expect(info.Digest).toBe(pushed.digest);
    expect(info.Architecture).toBe('amd64');
    expect(info.Os).toBe('linux');
    expect(info.Layers).toEqual([pushed.layers[0]?.digest]);

    const client = new RegistryClient({ hosts: new Map() });
    const resolved = await client.resolve(parseImageName(pushed.ref), amd64, signal());
    expect(resolved.digest).toBe(pushed.digest);
    expect(resolved.mediaType).toBe(MediaTypes.dockerManifest);
    expect(resolved.manifest.layers.map((l) => l.digest)).toEqual([pushed.layers[0]?.digest]);
    expect(Buffer.from(resolved.config).equals(Buffer.from(pushed.config.bytes))).toBe(true);
    // Deterministic: pushing again gives the same digest, and blobs already exist.
    const again = await pushBusyboxImage(reg.host);
    expect(again.digest).toBe(pushed.digest);

    const store = await createContentStore(path.join(tmp, 'content'));
    const layer = resolved.manifest.layers[0];
    if (!layer) throw new Error('no layer');
    let last = 0;
    const got = await client.fetchBlob(parseImageName(pushed.ref), layer, store, signal(), undefined, (c) => {
      last = c;
    });
    expect(got).toEqual({ digest: layer.digest, size: layer.size });
    expect(last).toBe(layer.size);
  });

  it('reports a missing image, a missing tag, and a document that is not a manifest', async () => {
    const client = new RegistryClient({ hosts: new Map() });
    await expect(
      client.resolve(parseImageName(`${reg.host}/nope/none:latest`), amd64, signal()),
    ).rejects.toThrow(`image ${reg.host}/nope/none:latest not found`);
    await pushBusyboxImage(reg.host);
    await expect(
      client.resolve(parseImageName(`${reg.host}/busybox:nosuchtag`), amd64, signal()),
    ).rejects.toThrow(`image ${reg.host}/busybox:nosuchtag not found`);
    // docker-registry validates what it stores, so the odd documents come from a front server.
    const front = await flakyFront(reg.host, { rewrite: true });
    try {
      const name = parseImageName(`${front.host}/busybox:latest`);
      await expect(client.resolve(name, amd64, signal())).rejects.toThrow(
        `${front.host}/busybox:latest is not an image manifest or index (media type "application/vnd.oci.image.config.v1+json")`,
      );
    } finally {
      await front.close();
    }
  });

  it('retries 5xx answers and dropped connections, then succeeds', async () => {
    await pushBusyboxImage(reg.host);
    const front = await flakyFront(reg.host, { failures: 3 });
    try {
      const client = new RegistryClient({ hosts: new Map(), backoffMs: 10 });
      const resolved = await client.resolve(parseImageName(`${front.host}/busybox:latest`), amd64, signal());
      expect(resolved.manifest.layers).toHaveLength(1);
      expect(front.requests.filter((r) => r === 'failed')).toHaveLength(3);
      const always = await flakyFront(reg.host, { failures: 1000 });
      try {
        await expect(
          new RegistryClient({ hosts: new Map(), backoffMs: 5, attempts: 3 }).resolve(
            parseImageName(`${always.host}/busybox:latest`),
            amd64,
            signal(),
          ),
        ).rejects.toThrow(/HTTP 503|socket hang up|ECONNRESET/);
        expect(always.requests.filter((r) => r === 'failed')).toHaveLength(3);
      } finally {
        await always.close();
      }
    } finally {
      await front.close();
    }
  });

  it('pulls through a configured mirror first', async () => {
    const pushed = await pushBusyboxImage(reg.host);
    const mirror = await flakyFront(reg.host, {});
    try {
      // Nothing listens on port 1: only the mirror can answer.
      const hosts = new Map([['127.0.0.1:1', { http: true, insecure: false, mirrors: [mirror.host] }]]);
      const client = new RegistryClient({ hosts, backoffMs: 5 });
      const name = parseImageName('127.0.0.1:1/busybox:latest');
      const resolved = await client.resolve(name, amd64, signal());
      expect(resolved.digest).toBe(pushed.digest);
      expect(mirror.requests[0]).toBe('GET /v2/busybox/manifests/latest');
    } finally {
      await mirror.close();
    }
  });

  it('selects the platform from a manifest list and lists platforms when none matches', async () => {
    const a = await pushBusyboxImage(reg.host, 'multi', 'amd64', { architecture: 'amd64' });
    const b = await pushBusyboxImage(reg.host, 'multi', 'arm64', {
      architecture: 'arm64',
      files: { 'etc/arch': 'arm64\n' },
    });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociIndex,
        manifests: [
          {
            mediaType: MediaTypes.dockerManifest,
            digest: b.digest,
            size: b.manifest.byteLength,
            platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
          },
          {
            mediaType: MediaTypes.dockerManifest,
            digest: a.digest,
            size: a.manifest.byteLength,
            platform: { os: 'linux', architecture: 'amd64' },
          },
        ],
      }),
    );
    const client = new RegistryClient({ hosts: new Map() });
    const name = parseImageName(`${reg.host}/multi:latest`);
    const indexDigest = await client.pushManifest(name, 'latest', index, MediaTypes.ociIndex, signal());
    expect(indexDigest).toBe(sha256(index));
    expect((await client.resolve(name, amd64, signal())).digest).toBe(a.digest);
    const arm = await client.resolve(name, { os: 'linux', architecture: 'arm64' }, signal());
    expect(arm.digest).toBe(b.digest);
    expect(JSON.parse(Buffer.from(arm.config).toString()).architecture).toBe('arm64');
    // by digest of the index works too
    const byDigest = parseImageName(`${reg.host}/multi@${indexDigest}`);
    expect((await client.resolve(byDigest, amd64, signal())).digest).toBe(a.digest);
    await expect(client.resolve(name, { os: 'linux', architecture: 's390x' }, signal())).rejects.toThrow(
      /no match for platform linux\/s390x .*linux\/arm64\/v8, linux\/amd64/,
    );
  });

  it('uploads a blob once and reports it as existing the second time', async () => {
    const client = new RegistryClient({ hosts: new Map() });
    const name = parseImageName(`${reg.host}/blobs:latest`);
    const data = await tarEntries([{ name: 'x', type: 'file', mode: 0o644, content: Buffer.from('x') }]);
    const desc = { digest: sha256(data), size: data.byteLength, mediaType: MediaTypes.ociLayer };
    expect(await client.pushBlob(name, desc, once(data), signal())).toBe('uploaded');
    expect(await client.pushBlob(name, desc, once(data), signal())).toBe('exists');
  });
});

/**
 * A front for the real registry: the first `failures` requests get a 503 or a reset connection
 * (alternately); with `rewrite`, manifests are replaced by a JSON document that is not one.
 */
async function flakyFront(
  upstream: string,
  opts: { failures?: number; rewrite?: boolean },
): Promise<{ host: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  let failures = opts.failures ?? 0;
  const server = http.createServer((req, res) => {
    if (failures > 0) {
      failures--;
      requests.push('failed');
      if (failures % 2 === 0) res.writeHead(503).end('busy');
      else req.socket.destroy();
      return;
    }
    requests.push(`${req.method} ${req.url}`);
    if (opts.rewrite && req.url?.includes('/manifests/')) {
      res.writeHead(200, { 'content-type': MediaTypes.ociConfig });
      res.end(JSON.stringify({ mediaType: MediaTypes.ociConfig, architecture: 'amd64' }));
      return;
    }
    const up = http.request(
      `http://${upstream}${req.url}`,
      { method: req.method, headers: { ...req.headers, host: upstream } },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    host: `127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A registry front that demands auth, serving tokens from its own realm, proxying to the real one. */
async function authProxy(
  upstream: string,
  mode: 'basic' | 'bearer',
  user: { username: string; secret: string },
): Promise<{ host: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const token = 'tok-123';
  const basic = `Basic ${Buffer.from(`${user.username}:${user.secret}`).toString('base64')}`;
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? '-'}`);
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/token') {
      const anonymous = req.headers.authorization === undefined;
      if (!anonymous && req.headers.authorization !== basic) {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: anonymous ? 'anon' : `${token}`, expires_in: 300 }));
      return;
    }
    const want = mode === 'basic' ? basic : `Bearer ${token}`;
    if (req.headers.authorization !== want) {
      const { port } = server.address() as { port: number };
      res.writeHead(401, {
        'www-authenticate':
          mode === 'basic'
            ? 'Basic realm="test"'
            : `Bearer realm="http://127.0.0.1:${port}/token",service="test-registry",scope="repository:x:pull"`,
      });
      res.end();
      return;
    }
    const up = http.request(
      `http://${upstream}${req.url}`,
      { method: req.method, headers: { ...req.headers, host: upstream } },
      (r) => {
        res.writeHead(r.statusCode ?? 500, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    host: `127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('registry auth', () => {
  const user = { username: 'alice', secret: 's3cret' };

  for (const mode of ['basic', 'bearer'] as const) {
    it(`${mode}: anonymous is denied with a clear error, credentials work`, async () => {
      await pushBusyboxImage(reg.host, 'private', 'v1');
      const proxy = await authProxy(reg.host, mode, user);
      try {
        const client = new RegistryClient({ hosts: new Map() });
        const name = parseImageName(`${proxy.host}/private:v1`);
        await expect(client.resolve(name, amd64, signal())).rejects.toThrow(
          `pull access denied for ${proxy.host}/private:v1: authentication required`,
        );
        const asked: string[] = [];
        const auth: RegistryAuth = async (host) => {
          asked.push(host);
          return user;
        };
        const resolved = await client.resolve(name, amd64, signal(), auth);
        expect(resolved.manifest.layers).toHaveLength(1);
        expect(asked[0]).toBe(proxy.host);
        if (mode === 'bearer') {
          expect(
            proxy.requests.some((r) =>
              r.startsWith('GET /token?service=test-registry&scope=repository%3Aprivate%3Apull'),
            ),
          ).toBe(true);
          // The token is cached: a second resolve asks the token server no more.
          const tokenCalls = proxy.requests.filter((r) => r.startsWith('GET /token')).length;
          await client.resolve(name, amd64, signal(), auth);
          expect(proxy.requests.filter((r) => r.startsWith('GET /token')).length).toBe(tokenCalls);
        }
        const wrong: RegistryAuth = async () => ({ username: 'alice', secret: 'nope' });
        await expect(
          new RegistryClient({ hosts: new Map() }).resolve(name, amd64, signal(), wrong),
        ).rejects.toThrow(/pull access denied/);
      } finally {
        await proxy.close();
      }
    });
  }
});
