import { createHash, randomBytes } from 'node:crypto';
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { EmptyLayerDiffID, ensureLayers, type LayerEvent } from '../../daemon/exporter/layers.js';
import { diffTar } from '../../worker/fs/diff.js';
import { MediaTypes } from '../../worker/image/media-types.js';
import { openFixture, recordProgress, signal } from './fixture.js';
import { collect, readTar } from './tar-read.js';

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('ensureLayers', () => {
  it('makes one layer per ref of the chain, base first, and remembers them', async () => {
    await using fx = await openFixture();
    await using base = await fx.makeRef(undefined, async (d) => {
      await mkdir(path.join(d, 'etc'));
      await writeFile(path.join(d, 'etc', 'os-release'), 'ID=kiln\n');
    });
    await using mid = await fx.makeRef(
      base,
      (d) => writeFile(path.join(d, 'etc', 'app.conf'), 'x=1\n'),
      'hardlink',
    );
    await using top = await fx.makeRef(mid, (d) => unlink(path.join(d, 'etc', 'os-release')));
    const events: LayerEvent[] = [];
    const opts = {
      compression: 'gzip' as const,
      ociMediaTypes: false,
      onLayerEvent: (e: LayerEvent) => events.push(e),
    };
    const layers = await ensureLayers(top, fx, opts, signal, recordProgress());
    expect(layers).toHaveLength(3);
    expect(layers.map((l) => l.empty)).toEqual([false, false, false]);
    const expectedTars = [
      await collect(diffTar(undefined, base.snapshot.dir, signal)),
      await collect(diffTar(base.snapshot.dir, mid.snapshot.dir, signal)),
      await collect(diffTar(mid.snapshot.dir, top.snapshot.dir, signal)),
    ];
    for (const [i, l] of layers.entries()) {
      const d = l.descriptor;
      expect(d.mediaType).toBe(MediaTypes.dockerLayerGzip);
      const blob = await collect(fx.store.read(d.digest, signal));
      expect(sha(blob)).toBe(d.digest);
      expect(blob.byteLength).toBe(d.size);
      const tarBytes = gunzipSync(blob);
      expect(tarBytes.equals(expectedTars[i] as Buffer)).toBe(true);
      expect(d.diffID).toBe(sha(tarBytes));
    }
    expect(
      (await readTar(gunzipSync(await collect(fx.store.read(layers[2]!.descriptor.digest, signal))))).map(
        (e) => e.name,
      ),
    ).toEqual(['etc/', 'etc/.wh.os-release']);
    expect(fx.refs.getLayer(top.id)).toEqual(layers[2]?.descriptor);
    expect(events.filter((e) => e.phase === 'start')).toHaveLength(3);

    // Second export: everything comes from getLayer, nothing is diffed again; OCI names the same blobs.
    events.length = 0;
    const again = await ensureLayers(top, fx, { ...opts, ociMediaTypes: true }, signal, recordProgress());
    expect(events).toEqual([]);
    expect(again.map((l) => l.descriptor.digest)).toEqual(layers.map((l) => l.descriptor.digest));
    expect(again.every((l) => l.descriptor.mediaType === MediaTypes.ociLayerGzip)).toBe(true);

    // Another compression does not fit: made again, uncompressed (digest == diffID).
    const plain = await ensureLayers(
      top,
      fx,
      { ...opts, compression: 'uncompressed' },
      signal,
      recordProgress(),
    );
    expect(events.filter((e) => e.phase === 'start')).toHaveLength(3);
    expect(plain.map((l) => l.descriptor.digest)).toEqual(layers.map((l) => l.descriptor.diffID));
    expect(plain[0]?.descriptor.mediaType).toBe(MediaTypes.dockerLayer);
  });

  it('flags an empty diff', async () => {
    await using fx = await openFixture();
    await using base = await fx.makeRef(undefined, (d) => writeFile(path.join(d, 'f'), 'x'));
    await using same = await fx.makeRef(base, async () => {}, 'hardlink');
    const layers = await ensureLayers(
      same,
      fx,
      { compression: 'gzip', ociMediaTypes: true },
      signal,
      recordProgress(),
    );
    expect(layers.map((l) => l.empty)).toEqual([false, true]);
    expect(layers[1]?.descriptor.diffID).toBe(EmptyLayerDiffID);
  });

  it('compresses different layers at the same time', async () => {
    await using fx = await openFixture();
    // Incompressible data keeps zlib busy on the thread pool for a while.
    await using a = await fx.makeRef(undefined, (d) =>
      writeFile(path.join(d, 'a.bin'), randomBytes(6 << 20)),
    );
    await using b = await fx.makeRef(
      a,
      (d) => writeFile(path.join(d, 'b.bin'), randomBytes(6 << 20)),
      'hardlink',
    );
    const events: LayerEvent[] = [];
    await ensureLayers(
      b,
      fx,
      { compression: 'gzip', ociMediaTypes: false, onLayerEvent: (e) => events.push(e) },
      signal,
      recordProgress(),
    );
    const at = (id: string, phase: 'start' | 'end') =>
      events.find((e) => e.refId === id && e.phase === phase)!.at;
    // Overlap: each layer started before the other one finished.
    expect(at(a.id, 'start')).toBeLessThan(at(b.id, 'end'));
    expect(at(b.id, 'start')).toBeLessThan(at(a.id, 'end'));
    // With one at a time they cannot overlap (the check above is meaningful).
    const serialEvents: LayerEvent[] = [];
    await using fx2 = await openFixture();
    await using a2 = await fx2.makeRef(undefined, (d) =>
      writeFile(path.join(d, 'a.bin'), randomBytes(1 << 20)),
    );
    await using b2 = await fx2.makeRef(
      a2,
      (d) => writeFile(path.join(d, 'b.bin'), randomBytes(1 << 20)),
      'hardlink',
    );
    await ensureLayers(
      b2,
      fx2,
      {
        compression: 'gzip',
        ociMediaTypes: false,
        concurrency: 1,
        onLayerEvent: (e) => serialEvents.push(e),
      },
      signal,
      recordProgress(),
    );
    expect(serialEvents.map((e) => e.phase)).toEqual(['start', 'end', 'start', 'end']);
  });

  it('returns nothing for an empty result', async () => {
    await using fx = await openFixture();
    expect(
      await ensureLayers(
        undefined,
        fx,
        { compression: 'gzip', ociMediaTypes: false },
        signal,
        recordProgress(),
      ),
    ).toEqual([]);
  });
});
