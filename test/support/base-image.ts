/**
 * Builds a small base image with Kiln's own code and pushes it to a test registry.
 *
 *   const { ref, digest } = await pushBusyboxImage(reg.host);            // `${host}/busybox:latest`
 *   await pushBusyboxImage(reg.host, 'tools', 'v1', { files: { 'etc/motd': 'hi\n' } });
 *
 * The rootfs is Debian's static /bin/busybox (package busybox-static) with a relative symlink per
 * applet in bin/, etc/passwd (root 0, nobody 65534, app 1000 with home /home/app), etc/group,
 * tmp (1777) and home/app (owned by 1000). One deterministic gzip layer (fixed mtimes, sorted
 * entries): the same inputs always give the same digests. Config: Env PATH, Cmd ["sh"],
 * linux/amd64 (or opts.architecture), one history entry; a Docker schema-2 manifest.
 * The result's `layers`/`config` describe what was pushed, for tests that check digests.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { parseImageName } from '../../daemon/source/image/reference.js';
import { MediaTypes, RegistryClient } from '../../daemon/source/image/registry-client.js';

export const busyboxBinary = '/bin/busybox';
export const defaultPath = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface BaseImageOptions {
  /** Extra regular files (path → content), mode 0644, root-owned. */
  readonly files?: Readonly<Record<string, string | Uint8Array>>;
  readonly architecture?: string;
  readonly signal?: AbortSignal;
}

export interface PushedImage {
  /** `host/repo:tag` */
  readonly ref: string;
  /** Manifest digest. */
  readonly digest: string;
  readonly manifest: Uint8Array;
  readonly config: { readonly digest: string; readonly size: number; readonly bytes: Uint8Array };
  readonly layers: readonly { readonly digest: string; readonly size: number; readonly diffID: string }[];
}

interface Entry {
  name: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  content?: Uint8Array;
}

const epoch = new Date('2024-01-01T00:00:00Z');
const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A deterministic tar of `entries` (sorted by name, fixed mtime). */
export async function tarEntries(entries: readonly Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of sorted) {
    await new Promise<void>((resolve, reject) => {
      const header = {
        name: e.type === 'directory' ? `${e.name}/` : e.name,
        type: e.type,
        mode: e.mode,
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        mtime: epoch,
        ...(e.linkname === undefined ? {} : { linkname: e.linkname }),
      };
      if (e.type === 'file')
        pack.entry(header, Buffer.from(e.content ?? new Uint8Array()), (err) =>
          err ? reject(err) : resolve(),
        );
      else pack.entry(header, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export async function busyboxRootfs(extra: BaseImageOptions['files'] = {}): Promise<Entry[]> {
  const { stdout } = await promisify(execFile)(busyboxBinary, ['--list']);
  const applets = stdout.split('\n').filter((a) => a !== '' && a !== 'busybox' && !a.includes('/'));
  const entries: Entry[] = [
    { name: 'bin', type: 'directory', mode: 0o755 },
    { name: 'bin/busybox', type: 'file', mode: 0o755, content: await readFile(busyboxBinary) },
    { name: 'etc', type: 'directory', mode: 0o755 },
    {
      name: 'etc/passwd',
      type: 'file',
      mode: 0o644,
      content: Buffer.from(
        'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n',
      ),
    },
    {
      name: 'etc/group',
      type: 'file',
      mode: 0o644,
      content: Buffer.from('root:x:0:\nnogroup:x:65534:\napp:x:1000:\n'),
    },
    { name: 'home', type: 'directory', mode: 0o755 },
    { name: 'home/app', type: 'directory', mode: 0o755, uid: 1000, gid: 1000 },
    { name: 'root', type: 'directory', mode: 0o700 },
    { name: 'tmp', type: 'directory', mode: 0o1777 },
  ];
  for (const a of applets)
    entries.push({ name: `bin/${a}`, type: 'symlink', mode: 0o777, linkname: 'busybox' });
  const dirs = new Set(entries.filter((e) => e.type === 'directory').map((e) => e.name));
  for (const [p, content] of Object.entries(extra)) {
    const parts = p.split('/').filter((x) => x !== '');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        entries.push({ name: d, type: 'directory', mode: 0o755 });
      }
    }
    entries.push({
      name: parts.join('/'),
      type: 'file',
      mode: 0o644,
      content: typeof content === 'string' ? Buffer.from(content) : content,
    });
  }
  return entries;
}

export async function pushBusyboxImage(
  host: string,
  repo = 'busybox',
  tag = 'latest',
  opts: BaseImageOptions = {},
): Promise<PushedImage> {
  const signal = opts.signal ?? AbortSignal.timeout(120_000);
  const layerTar = await tarEntries(await busyboxRootfs(opts.files));
  const layer = gzipSync(layerTar);
  const diffID = sha256(layerTar);
  const layerDesc = { mediaType: MediaTypes.dockerLayerGzip, digest: sha256(layer), size: layer.byteLength };
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: opts.architecture ?? 'amd64',
      os: 'linux',
      created: epoch.toISOString(),
      config: { Env: [defaultPath], Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: [diffID] },
      history: [
        { created: epoch.toISOString(), created_by: 'kiln test: busybox from Debian busybox-static' },
      ],
    }),
  );
  const configDesc = {
    mediaType: MediaTypes.dockerConfig,
    digest: sha256(configBytes),
    size: configBytes.byteLength,
  };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.dockerManifest,
      config: configDesc,
      layers: [layerDesc],
    }),
  );
  const name = parseImageName(`${host}/${repo}:${tag}`);
  const client = new RegistryClient({ hosts: new Map() });
  const once = (b: Uint8Array) =>
    async function* () {
      yield b;
    };
  await client.pushBlob(name, layerDesc, once(layer), signal);
  await client.pushBlob(name, configDesc, once(configBytes), signal);
  const digest = await client.pushManifest(name, tag, manifest, MediaTypes.dockerManifest, signal);
  return {
    ref: `${host}/${repo}:${tag}`,
    digest,
    manifest,
    config: { digest: configDesc.digest, size: configDesc.size, bytes: configBytes },
    layers: [{ digest: layerDesc.digest, size: layerDesc.size, diffID }],
  };
}
