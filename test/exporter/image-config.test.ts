import { describe, expect, it } from 'vitest';
import { parseImageExportAttrs } from '../../daemon/exporter/image-options.js';
import { exportEpoch, exportNames } from '../../daemon/exporter/image-writer.js';
import type { LayerDescriptor } from '../../daemon/solver/types.js';
import { canonicalJson } from '../../worker/image/canonical-json.js';
import { assembleImageConfig, type ChainLayer, normalizeHistory } from '../../worker/image/image-config.js';
import { buildImageManifest } from '../../worker/image/manifest.js';
import { MediaTypes } from '../../worker/image/media-types.js';

const layer = (n: number, empty = false): ChainLayer => ({
  descriptor: {
    mediaType: MediaTypes.dockerLayerGzip,
    digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
    size: 100 + n,
    diffID: `sha256:${String(n + 1)
      .repeat(64)
      .slice(0, 64)}`,
  },
  empty,
});
const now = new Date('2024-05-01T10:00:00.000Z');
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('image config assembly', () => {
  it('makes a minimal config when the frontend gave none', () => {
    const { config, layers } = assembleImageConfig(undefined, [layer(1)], { now });
    expect(config).toMatchObject({
      os: 'linux',
      config: { WorkingDir: '/', Env: [expect.stringMatching(/^PATH=/)] },
      rootfs: { type: 'layers', diff_ids: [layer(1).descriptor.diffID] },
      created: now.toISOString(),
    });
    expect(config.history).toEqual([
      { created: now.toISOString(), created_by: 'created by kiln', comment: 'buildkit.exporter.image.v0' },
    ]);
    expect(layers).toEqual([layer(1).descriptor]);
  });

  it('lines history up with layers and drops empty diffs, marking them empty_layer', () => {
    const history = [
      { created: '2024-01-01T00:00:00Z', created_by: 'ADD rootfs' },
      { created_by: 'ENV A=1', empty_layer: true },
      { created_by: 'RUN true' }, // produced nothing
      { created_by: 'COPY . /app' },
    ];
    const out = normalizeHistory(history, [layer(1), layer(2, true), layer(3)], { now });
    expect(out.layers.map((l) => l.digest)).toEqual([layer(1).descriptor.digest, layer(3).descriptor.digest]);
    expect(out.history.map((h) => [h.created_by, h.empty_layer ?? false])).toEqual([
      ['ADD rootfs', false],
      ['ENV A=1', true],
      ['RUN true', true],
      ['COPY . /app', false],
    ]);
    // Undated entries get the first time after them (here none: the last known time).
    expect(out.history.every((h) => h.created === '2024-01-01T00:00:00Z')).toBe(true);
  });

  it('adds entries for layers the history does not describe, and empties extra ones', () => {
    const more = normalizeHistory([{ created_by: 'base' }], [layer(1), layer(2)], { now });
    expect(more.history.map((h) => h.created_by)).toEqual(['base', 'created by kiln']);
    expect(more.layers).toHaveLength(2);
    const fewer = normalizeHistory(
      [{ created_by: 'a' }, { created_by: 'b' }, { created_by: 'c' }],
      [layer(1)],
      { now },
    );
    expect(fewer.history.map((h) => h.empty_layer ?? false)).toEqual([false, true, true]);
    expect(fewer.layers).toHaveLength(1);
  });

  it('clamps every time to SOURCE_DATE_EPOCH', () => {
    const epoch = new Date(1_700_000_000_000);
    const cfg = {
      created: '2030-01-01T00:00:00Z',
      history: [
        { created: '2020-01-01T00:00:00Z', created_by: 'old' },
        { created: '2030-01-01T00:00:00Z', created_by: 'new' },
      ],
    };
    const { config } = assembleImageConfig(enc(cfg), [layer(1), layer(2)], { now, epoch });
    expect(config.created).toBe(epoch.toISOString());
    expect((config.history as { created: string }[]).map((h) => h.created)).toEqual([
      '2020-01-01T00:00:00.000Z'.replace('.000', ''),
      epoch.toISOString(),
    ]);
  });

  it('keeps unknown config keys and gives equal digests for equal inputs', () => {
    const cfg = {
      architecture: 'arm64',
      os: 'linux',
      config: { Labels: { b: '2', a: '1' } },
      'moby.buildkit.cache.v0': 'x',
    };
    const one = assembleImageConfig(enc(cfg), [layer(1)], { now });
    const two = assembleImageConfig(
      enc({
        os: 'linux',
        'moby.buildkit.cache.v0': 'x',
        config: { Labels: { a: '1', b: '2' } },
        architecture: 'arm64',
      }),
      [layer(1)],
      { now },
    );
    expect(canonicalJson(one.config)).toBe(canonicalJson(two.config));
    expect(one.config['moby.buildkit.cache.v0']).toBe('x');
    const m1 = buildImageManifest(one.config, one.layers, { oci: false });
    const m2 = buildImageManifest(two.config, two.layers, { oci: false });
    expect(m1.manifest.descriptor.digest).toBe(m2.manifest.descriptor.digest);
  });

  it('writes Docker schema 2 or OCI manifests', () => {
    const layers: LayerDescriptor[] = [layer(1).descriptor];
    const docker = JSON.parse(
      Buffer.from(buildImageManifest({}, layers, { oci: false }).manifest.bytes).toString(),
    );
    expect(docker).toMatchObject({
      schemaVersion: 2,
      mediaType: MediaTypes.dockerManifest,
      config: { mediaType: MediaTypes.dockerConfig },
      layers: [{ mediaType: MediaTypes.dockerLayerGzip, digest: layers[0]?.digest, size: 101 }],
    });
    const oci = JSON.parse(
      Buffer.from(
        buildImageManifest({}, layers, { oci: true, annotations: { 'org.opencontainers.image.title': 't' } })
          .manifest.bytes,
      ).toString(),
    );
    expect(oci).toMatchObject({
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig },
      layers: [{ mediaType: MediaTypes.ociLayerGzip }],
      annotations: { 'org.opencontainers.image.title': 't' },
    });
  });
});

describe('image exporter attributes', () => {
  it('parses names, push, media types, compression and annotations', () => {
    const o = parseImageExportAttrs('image', {
      name: 'a:1, b:2',
      push: 'true',
      'oci-mediatypes': '1',
      compression: 'uncompressed',
      'annotation.k': 'v',
      'annotation-manifest[linux/amd64].m': 'w',
      'annotation-index.i': 'x',
      'source-date-epoch': '10',
    });
    expect(o).toMatchObject({
      names: ['a:1', 'b:2'],
      push: true,
      ociMediaTypes: true,
      compression: 'uncompressed',
    });
    expect(o.annotations).toEqual({
      manifest: { k: 'v', m: 'w' },
      index: { i: 'x' },
      manifestDescriptor: {},
    });
    expect(o.epoch?.getTime()).toBe(10_000);
    expect(parseImageExportAttrs('oci', {}).ociMediaTypes).toBe(true);
    expect(parseImageExportAttrs('docker', {}).ociMediaTypes).toBe(false);
  });

  it('refuses what it does not know, with the key in the message', () => {
    expect(() => parseImageExportAttrs('image', { bogus: '1' })).toThrow(/unknown attribute "bogus"/);
    expect(() => parseImageExportAttrs('image', { compression: 'zstd' })).toThrow(
      /compression="zstd" is not supported/,
    );
    expect(() => parseImageExportAttrs('image', { push: 'maybe' })).toThrow(/not a boolean/);
    expect(() => parseImageExportAttrs('oci', { push: 'true' })).toThrow(/unknown attribute "push"/);
    expect(() => parseImageExportAttrs('image', { 'annotation.a': 'b' })).toThrow(/oci-mediatypes=true/);
  });
});

describe('names and epoch from result metadata', () => {
  const md = (v: Record<string, string>) =>
    Object.fromEntries(Object.entries(v).map(([k, x]) => [k, new TextEncoder().encode(x)]));

  it('replaces * by image.name and refuses bad names before any work', () => {
    const opts = parseImageExportAttrs('image', { name: '*,reg.example:5000/a/b:c' });
    expect(exportNames(opts, md({ 'image.name': 'x/y:1,x/y:2' }))).toEqual([
      'x/y:1',
      'x/y:2',
      'reg.example:5000/a/b:c',
    ]);
    expect(() => exportNames(parseImageExportAttrs('image', { name: 'Bad:Name:x' }), {})).toThrow(
      /invalid image reference/,
    );
  });

  it('takes SOURCE_DATE_EPOCH from the attr first, then from result metadata', () => {
    expect(
      exportEpoch(parseImageExportAttrs('image', {}), md({ 'source.date.epoch': '20' }))?.getTime(),
    ).toBe(20_000);
    expect(
      exportEpoch(
        parseImageExportAttrs('image', { 'source-date-epoch': '5' }),
        md({ 'source.date.epoch': '20' }),
      )?.getTime(),
    ).toBe(5_000);
    expect(exportEpoch(parseImageExportAttrs('image', {}), {})).toBeUndefined();
    expect(() => exportEpoch(parseImageExportAttrs('image', {}), md({ SOURCE_DATE_EPOCH: 'soon' }))).toThrow(
      /invalid SOURCE_DATE_EPOCH/,
    );
  });
});
