import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openCacheManager } from '../../daemon/cache/manager.js';
import type { CacheManager } from '../../daemon/cache/types.js';
import { SessionManager } from '../../daemon/session/manager.js';
import type { ImmutableRef, OpContext } from '../../daemon/solver/types.js';
import { chainIDs, createImageSource, layerChainKey } from '../../daemon/source/image/image-source.js';
import { parseImageName } from '../../daemon/source/image/reference.js';
import { MediaTypes, RegistryClient } from '../../daemon/source/image/registry-client.js';
import { createContentStore } from '../../worker/content/store.js';
import type { ContentStore } from '../../worker/content/types.js';
import { createNativeSnapshotter } from '../../worker/snapshot/native.js';
import { type PushedImage, pushBusyboxImage, tarEntries } from '../support/base-image.js';
import { type CountingProxy, startCountingProxy } from '../support/counting-proxy.js';
import { type TestRegistry, startRegistry } from '../support/registry.js';

const sha = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const once = (b: Uint8Array) =>
  async function* () {
    yield b;
  };
const signal = () => AbortSignal.timeout(60_000);

let reg: TestRegistry;
let proxy: CountingProxy;
let busybox: PushedImage;
let two: { ref: string; digest: string; layerDigest: string };

/** busybox:two = the busybox layer + a layer that deletes etc/group, adds etc/motd and empties tmp. */
async function pushTwoLayerImage(): Promise<typeof two> {
  const client = new RegistryClient({ hosts: new Map() });
  const name = parseImageName(`${reg.host}/busybox:two`);
  const t = await tarEntries([
    { name: 'etc', type: 'directory', mode: 0o755 },
    { name: 'etc/.wh.group', type: 'file', mode: 0o644 },
    { name: 'etc/motd', type: 'file', mode: 0o644, content: Buffer.from('hello from layer 2\n') },
  ]);
  const gz = gzipSync(t);
  const layer = { mediaType: MediaTypes.dockerLayerGzip, digest: sha(gz), size: gz.length };
  const base = busybox.layers[0];
  if (!base) throw new Error('no base layer');
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: [base.diffID, sha(t)] },
    }),
  );
  const configDesc = { mediaType: MediaTypes.dockerConfig, digest: sha(config), size: config.length };
  await client.pushBlob(name, layer, once(gz), signal());
  await client.pushBlob(name, configDesc, once(config), signal());
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.dockerManifest,
      config: configDesc,
      layers: [{ mediaType: MediaTypes.dockerLayerGzip, digest: base.digest, size: base.size }, layer],
    }),
  );
  const digest = await client.pushManifest(name, 'two', manifest, MediaTypes.dockerManifest, signal());
  return { ref: `${proxy.host}/busybox:two`, digest, layerDigest: layer.digest };
}

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startCountingProxy(reg.host);
  busybox = await pushBusyboxImage(reg.host);
  two = await pushTwoLayerImage();
});
afterAll(async () => {
  await proxy?.close();
  await reg?.stop();
});

let root: string;
let cache: CacheManager;
let store: ContentStore;
const held: ImmutableRef[] = [];
const statuses: string[] = [];

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'kiln-imgsrc-'));
  cache = await openCacheManager({
    root,
    snapshotter: createNativeSnapshotter(path.join(root, 'snapshots')),
    signal: signal(),
  });
  store = await createContentStore(path.join(root, 'content'));
  statuses.length = 0;
  proxy.requests.length = 0;
});
afterEach(async () => {
  for (const r of held.splice(0)) await r.release();
  await cache.close();
  await rm(root, { recursive: true, force: true });
});

function ctx(): OpContext {
  return {
    signal: signal(),
    sessionIds: [],
    progress: {
      status: (id, u) => {
        if (u.completed) statuses.push(id);
      },
      log: () => undefined,
    },
  };
}

function source() {
  return createImageSource({
    refs: cache,
    cache,
    store,
    registry: new RegistryClient({ hosts: new Map() }),
    sessions: new SessionManager(),
    defaultPlatform: { os: 'linux', architecture: 'amd64' },
  });
}

async function pull(ref: string, attrs: Record<string, string> = {}, src = source()): Promise<ImmutableRef> {
  const op = src.resolver.resolve(`docker-image://${ref}`, attrs);
  await op.cacheMap(ctx());
  const [out] = await op.exec(ctx(), []);
  if (!out) throw new Error('no output');
  held.push(out);
  return out;
}

const blobGets = () => proxy.requests.filter((r) => r.startsWith('GET') && r.includes('/blobs/sha256:'));

describe('docker-image source', () => {
  it('pulls busybox into a snapshot with the layer recorded, and reuses it on the second pull', async () => {
    const ref = `${proxy.host}/busybox:latest`;
    const top = await pull(ref);
    const dir = top.snapshot.dir;
    expect((await stat(path.join(dir, 'bin/busybox'))).mode & 0o777).toBe(0o755);
    expect(await readlink(path.join(dir, 'bin/sh'))).toBe('busybox');
    expect(await readFile(path.join(dir, 'etc/passwd'), 'utf8')).toContain(
      'app:x:1000:1000:app:/home/app:/bin/sh',
    );
    expect((await stat(path.join(dir, 'tmp'))).mode & 0o7777).toBe(0o1777);
    expect((await stat(path.join(dir, 'home/app'))).uid).toBe(1000);
    const base = busybox.layers[0];
    expect(cache.getLayer(top.id)).toEqual({
      mediaType: MediaTypes.dockerLayerGzip,
      digest: base?.digest,
      size: base?.size,
      diffID: base?.diffID,
    });
    expect(statuses).toContain(`resolve ${ref}`);
    expect(statuses).toContain(base?.digest);
    expect(statuses).toContain(`extracting ${base?.digest}`);
    expect(blobGets()).toHaveLength(2); // config + layer

    // Second pull, new source: only the manifest and config are fetched, the layer ref is reused.
    proxy.requests.length = 0;
    const again = await pull(ref);
    expect(again.id).toBe(top.id);
    expect(blobGets().filter((r) => r.includes(base?.digest ?? '?'))).toEqual([]);

    // The same layer chain under the OCI chain ID.
    const byChain = await cache.load(layerChainKey(chainIDs([base?.diffID ?? ''])[0] ?? ''), signal());
    expect(byChain?.id).toBe(top.id);
    await byChain?.release();
  });

  it('stacks a second layer on the cached first one: whiteouts applied, only the new layer downloaded', async () => {
    await pull(`${proxy.host}/busybox:latest`);
    proxy.requests.length = 0;
    const top = await pull(two.ref);
    const dir = top.snapshot.dir;
    expect(await readFile(path.join(dir, 'etc/motd'), 'utf8')).toBe('hello from layer 2\n');
    await expect(lstat(path.join(dir, 'etc/group'))).rejects.toThrow(/ENOENT/);
    expect(await readFile(path.join(dir, 'etc/passwd'), 'utf8')).toContain('root:x:0:0');
    // The config and the new layer; never the shared busybox layer.
    expect(blobGets()).toHaveLength(2);
    expect(blobGets()).toContain(`GET /v2/busybox/blobs/${two.layerDigest}`);
    expect(blobGets().filter((r) => r.includes(busybox.layers[0]?.digest ?? '?'))).toEqual([]);
    expect(cache.getLayer(top.id)?.digest).toBe(two.layerDigest);
    const parent = await cache.parentOf(top);
    expect(parent && cache.getLayer(parent.id)?.digest).toBe(busybox.layers[0]?.digest);
    await parent?.release();
  });

  it('keys the cache by manifest digest and needs no network when the reference pins it', async () => {
    const byTag = source().resolver.resolve(`docker-image://${proxy.host}/busybox:latest`, {});
    const byDigest = source().resolver.resolve(`docker-image://${proxy.host}/busybox@${busybox.digest}`, {
      'image.resolvemode': 'pull',
    });
    proxy.requests.length = 0;
    const a = await byDigest.cacheMap(ctx());
    expect(proxy.requests).toEqual([]);
    const b = await byTag.cacheMap(ctx());
    expect(a.digest).toBe(sha(`docker-image:${busybox.digest}`));
    expect(b.digest).toBe(a.digest);
    expect(() =>
      source().resolver.resolve('docker-image://busybox', { 'image.resolvemode': 'bogus' }),
    ).toThrow(/image.resolvemode/);
  });

  it('rejects a layer whose content does not match the config diff_id, and saves no ref', async () => {
    const client = new RegistryClient({ hosts: new Map() });
    const name = parseImageName(`${reg.host}/liar:latest`);
    const t = await tarEntries([{ name: 'f', type: 'file', mode: 0o644, content: Buffer.from('f') }]);
    const gz = gzipSync(t);
    const layer = { mediaType: MediaTypes.ociLayerGzip, digest: sha(gz), size: gz.length };
    const wrongDiff = sha('something else');
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [wrongDiff] },
      }),
    );
    const configDesc = { mediaType: MediaTypes.ociConfig, digest: sha(config), size: config.length };
    await client.pushBlob(name, layer, once(gz), signal());
    await client.pushBlob(name, configDesc, once(config), signal());
    await client.pushManifest(
      name,
      'latest',
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaTypes.ociManifest,
          config: configDesc,
          layers: [layer],
        }),
      ),
      MediaTypes.ociManifest,
      signal(),
    );
    await expect(pull(`${reg.host}/liar:latest`)).rejects.toThrow(
      `does not match the config's diff_id ${wrongDiff}`,
    );
    expect(await cache.load(layerChainKey(wrongDiff), signal())).toBeUndefined();
    const du = await cache.diskUsage({});
    expect(du.filter((r) => r.Description.includes('liar'))).toEqual([]);
  });

  it('two concurrent pulls of one image unpack each layer once', async () => {
    const shared = source();
    const [a, b] = await Promise.all([pull(two.ref, {}, shared), pull(two.ref, {}, shared)]);
    expect(a.id).toBe(b.id);
    const du = await cache.diskUsage({});
    expect(du.filter((r) => r.Description.startsWith('pulled from'))).toHaveLength(2);
  });

  it('resolveImageConfig returns the manifest digest and config', async () => {
    const r = await source().resolveImageConfig(`${proxy.host}/busybox:latest`, {}, signal());
    expect(r.digest).toBe(busybox.digest);
    expect(JSON.parse(Buffer.from(r.config).toString()).config.Cmd).toEqual(['sh']);
  });
});
