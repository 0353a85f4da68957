import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSendTarget } from '../../client/session/filesend-target.js';
import { startSession } from '../../client/session/start-session.js';
import { createExporters } from '../../daemon/exporter/index.js';
import type { ExporterInstance } from '../../daemon/exporter/types.js';
import type { ImmutableRef } from '../../daemon/solver/types.js';
import { RegistryClient } from '../../daemon/source/image/registry-client.js';
import { type Harness, startHarness } from '../session/harness.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { type Fixture, openFixture, recordProgress, signal } from './fixture.js';
import { collect, readTar } from './tar-read.js';

const run = promisify(execFile);
const ac = new AbortController();

let h: Harness;
let fx: Fixture;
let base: ImmutableRef;
let top: ImmutableRef;
const config = {
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/bin'], Cmd: ['/bin/app'] },
  history: [{ created_by: 'COPY rootfs /' }, { created_by: 'RUN build' }],
};
const metadata = { 'containerimage.config': new TextEncoder().encode(JSON.stringify(config)) };

beforeAll(async () => {
  h = await startHarness();
  fx = await openFixture();
  base = await fx.makeRef(undefined, async (d) => {
    await mkdir(path.join(d, 'bin'));
    await mkdir(path.join(d, 'etc'));
    await writeFile(path.join(d, 'etc', 'old.conf'), 'old');
    await writeFile(path.join(d, 'bin', 'app'), '#!/bin/sh\necho hi\n');
    await chmod(path.join(d, 'bin', 'app'), 0o755);
  });
  top = await fx.makeRef(
    base,
    async (d) => {
      await unlink(path.join(d, 'etc', 'old.conf'));
      await writeFile(path.join(d, 'etc', 'new.conf'), 'new');
    },
    'hardlink',
  );
});
afterAll(async () => {
  await top.release();
  await base.release();
  await fx[Symbol.asyncDispose]();
  await h.close();
});

function exporters(extra: { onPushed?: (r: { uploaded: string[]; existing: string[] }) => void } = {}) {
  const registry = new RegistryClient({ hosts: new Map() });
  return createExporters({ refs: fx.refs, store: fx.store, registry, sessions: h.manager, ...extra });
}

/** Runs an export into `file` through a real client session; returns the response and the metadata the client saw. */
async function exportTo(inst: ExporterInstance, file: string) {
  let md: Readonly<Record<string, string>> = {};
  const cs = await startSession({
    conn: h.open,
    name: 'x',
    attachables: [fileSendTarget({ kind: 'file', path: file, onMetadata: (m) => (md = m) }, ac.signal)],
    signal: ac.signal,
  });
  try {
    const session = await h.manager.get(cs.id, { signal });
    const progress = recordProgress();
    const response = await inst.export({ ref: top, metadata, session, signal, progress });
    return { response, md, progress };
  } finally {
    await cs.close();
  }
}

describe('oci exporter', () => {
  it('streams an OCI layout tarball that skopeo and umoci read', async () => {
    const inst = exporters()
      .get('oci')!
      .resolve({ name: 'example.com/kiln/app:v1', 'annotation-index.org.example': 'idx' });
    const file = path.join(h.tmp, 'image.oci.tar');
    const { response, md } = await exportTo(inst, file);
    expect(md).toEqual(response);
    expect(response['image.name']).toBe('example.com/kiln/app:v1');
    const desc = JSON.parse(Buffer.from(response['containerimage.descriptor']!, 'base64').toString());
    expect(desc).toMatchObject({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: response['containerimage.digest'],
    });

    const entries = await readTar(await readFile(file));
    const index = JSON.parse(entries.find((e) => e.name === 'index.json')!.data.toString());
    expect(index.annotations).toEqual({ 'org.example': 'idx' });
    expect(index.manifests[0].annotations).toEqual({
      'io.containerd.image.name': 'example.com/kiln/app:v1',
      'org.opencontainers.image.ref.name': 'v1',
    });
    expect(entries.find((e) => e.name === 'oci-layout')?.data.toString()).toBe(
      '{"imageLayoutVersion":"1.0.0"}',
    );

    const { stdout } = await run('skopeo', ['inspect', `oci-archive:${file}`]);
    const inspected = JSON.parse(stdout);
    expect(inspected.Digest).toBe(response['containerimage.digest']);
    expect(inspected.Layers).toHaveLength(2);
    expect(inspected.Env).toEqual(['PATH=/bin']);

    const layout = path.join(h.tmp, 'layout');
    const bundle = path.join(h.tmp, 'bundle');
    await mkdir(layout);
    await run('tar', ['-xf', file, '-C', layout]);
    await run('umoci', ['unpack', '--image', `${layout}:v1`, bundle]);
    const rootfs = path.join(bundle, 'rootfs');
    expect(await readFile(path.join(rootfs, 'etc', 'new.conf'), 'utf8')).toBe('new');
    expect((await stat(path.join(rootfs, 'bin', 'app'))).mode & 0o777).toBe(0o755);
    await expect(stat(path.join(rootfs, 'etc', 'old.conf'))).rejects.toThrow(/ENOENT/);
    const cfg = JSON.parse(await readFile(path.join(bundle, 'config.json'), 'utf8'));
    expect(cfg.process.args).toEqual(['/bin/app']);
    await rm(bundle, { recursive: true, force: true });
  });

  it('refuses tar=false and unknown attributes clearly', () => {
    const ex = exporters();
    expect(() => ex.get('oci')!.resolve({ tar: 'false' })).toThrow(/tar=false .* not supported yet/);
    expect(() => ex.get('docker')!.resolve({ output: 'x' })).toThrow(
      /docker exporter: unknown attribute "output"/,
    );
  });
});

describe('docker exporter', () => {
  it('streams a tarball with manifest.json that skopeo reads as docker-archive', async () => {
    const inst = exporters().get('docker')!.resolve({ name: 'kiln-test:latest' });
    const file = path.join(h.tmp, 'image.docker.tar');
    const { response } = await exportTo(inst, file);
    const entries = await readTar(await readFile(file));
    const manifest = JSON.parse(entries.find((e) => e.name === 'manifest.json')!.data.toString());
    expect(manifest).toHaveLength(1);
    expect(manifest[0].RepoTags).toEqual(['kiln-test:latest']);
    expect(manifest[0].Config).toBe(`blobs/sha256/${response['containerimage.config.digest']!.slice(7)}`);
    const { stdout } = await run('skopeo', ['inspect', `docker-archive:${file}`]);
    const inspected = JSON.parse(stdout);
    expect(inspected.RepoTags).toBeDefined();
    expect(inspected.Layers).toHaveLength(2);
    const raw = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci-archive:${file}`])).stdout);
    expect(raw.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
  });
});

describe('image exporter', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg.stop();
  });

  it('pushes layers, config and manifest; a second push uploads no layer', async () => {
    const name = `${reg.host}/kiln/pushed:v1`;
    const reports: { uploaded: string[]; existing: string[] }[] = [];
    const ex = exporters({ onPushed: (r) => reports.push(r) });
    const first = await exportTo(
      ex.get('image')!.resolve({ name, push: 'true' }),
      path.join(h.tmp, 'unused1'),
    );
    expect(first.response['image.name']).toBe(name);
    expect(first.progress.statuses.some((s) => s.id === 'pushing layers' && s.completed)).toBe(true);
    expect(first.progress.statuses.some((s) => s.id === `pushing manifest for ${name}` && s.completed)).toBe(
      true,
    );
    const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${name}`]);
    const inspected = JSON.parse(stdout);
    expect(inspected.Digest).toBe(first.response['containerimage.digest']);
    expect(inspected.Layers).toHaveLength(2);
    const layers: string[] = inspected.Layers;
    expect(reports[0]?.uploaded).toEqual(expect.arrayContaining(layers));

    const second = await exportTo(
      ex.get('image')!.resolve({ name, push: 'true' }),
      path.join(h.tmp, 'unused2'),
    );
    expect(reports[1]?.uploaded.filter((d) => layers.includes(d))).toEqual([]);
    expect(reports[1]?.existing).toEqual(expect.arrayContaining(layers));
    const again = JSON.parse(
      (await run('skopeo', ['inspect', '--tls-verify=false', `docker://${name}`])).stdout,
    );
    expect(again.Digest).toBe(second.response['containerimage.digest']);
  });

  it('builds without pushing and answers the BuildKit response keys', async () => {
    const { response } = await exportTo(
      exporters().get('image')!.resolve({ 'oci-mediatypes': 'true', 'source-date-epoch': '1700000000' }),
      path.join(h.tmp, 'unused3'),
    );
    expect(Object.keys(response).sort()).toEqual([
      'containerimage.config.digest',
      'containerimage.descriptor',
      'containerimage.digest',
    ]);
    const cfg = JSON.parse(
      (await collect(fx.store.read(response['containerimage.config.digest']!, signal))).toString(),
    );
    expect(cfg.created).toBe('2023-11-14T22:13:20.000Z');
    expect(cfg.history.map((x: { created: string }) => x.created)).toEqual([
      '2023-11-14T22:13:20.000Z',
      '2023-11-14T22:13:20.000Z',
    ]);
    // Same inputs and epoch → same image.
    const twice = await exportTo(
      exporters().get('image')!.resolve({ 'oci-mediatypes': 'true', 'source-date-epoch': '1700000000' }),
      path.join(h.tmp, 'unused4'),
    );
    expect(twice.response['containerimage.digest']).toBe(response['containerimage.digest']);
  });

  it('needs a name to push', async () => {
    await expect(
      exportTo(exporters().get('image')!.resolve({ push: 'true' }), path.join(h.tmp, 'unused5')),
    ).rejects.toThrow(/push=true needs a name/);
  });
});
