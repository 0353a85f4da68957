import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pushBusyboxImage } from '../support/base-image.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { dockerfileBuildArgs, kilnctl, type Kilnd, startKilnd, tempDir } from './harness.js';

const epoch = 1_700_000_000;
const epochIso = new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');

/**
 * SOURCE_DATE_EPOCH makes images reproducible: the same Dockerfile (RUN writing files, COPY from
 * the context) built on two fresh kilnd roots, at different times, gives the same image digest.
 */
describe('reproducible images with SOURCE_DATE_EPOCH', () => {
  let registry: TestRegistry;
  let work: string;
  let ctx: string;

  beforeAll(async () => {
    registry = await startRegistry();
    const base = (await pushBusyboxImage(registry.host)).ref;
    work = await tempDir('repro');
    ctx = path.join(work, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(
      path.join(ctx, 'Dockerfile'),
      `FROM ${base}\nRUN mkdir -p /data/sub && echo hello > /data/a && touch /data/sub/b && rm -f /etc/motd\nCOPY ctx.txt /data/c\nWORKDIR /app\nRUN echo second > /app/x\n`,
    );
    await writeFile(path.join(ctx, 'ctx.txt'), 'from the context\n');
  }, 120_000);
  afterAll(async () => {
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  let reference: string | undefined;

  /** Layer digests of a pushed tag, from its manifest. */
  const layersOf = (tag: string): string[] =>
    (
      JSON.parse(
        execFileSync(
          'skopeo',
          ['inspect', '--tls-verify=false', '--raw', `docker://${registry.host}/repro:${tag}`],
          { encoding: 'utf8' },
        ),
      ) as { layers: { digest: string }[] }
    ).layers.map((l) => l.digest);

  /** A fresh daemon (own root), one build pushed as `tag`; returns the image digest. */
  async function buildOnFreshDaemon(tag: string, epochVia: 'build-arg' | 'exporter'): Promise<string> {
    const kilnd = await startKilnd();
    try {
      return await buildOn(kilnd, tag, epochVia);
    } finally {
      await kilnd.stop();
      await rm(kilnd.root, { recursive: true, force: true });
    }
  }

  async function buildOn(
    kilnd: Kilnd,
    tag: string,
    epochVia: 'build-arg' | 'exporter' | 'none',
  ): Promise<string> {
    {
      const meta = path.join(work, `${tag}.json`);
      const name = `${registry.host}/repro:${tag}`;
      const output =
        epochVia === 'exporter'
          ? `type=image,name=${name},push=true,source-date-epoch=${epoch}`
          : `type=image,name=${name},push=true`;
      const r = await kilnctl([
        ...dockerfileBuildArgs(kilnd.addr, ctx),
        '--output',
        output,
        '--metadata-file',
        meta,
        ...(epochVia === 'build-arg' ? ['--opt', `build-arg:SOURCE_DATE_EPOCH=${epoch}`] : []),
      ]);
      expect(r.code, r.stderr).toBe(0);
      const response = JSON.parse(await readFile(meta, 'utf8')) as Record<string, string>;
      const digest = response['containerimage.digest'];
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      return digest as string;
    }
  }

  test('two fresh daemons give the same digest, dated at the epoch', async () => {
    const first = await buildOnFreshDaemon('one', 'build-arg');
    // Files the second build writes get other mtimes: only clamping makes the layers equal.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = await buildOnFreshDaemon('two', 'build-arg');
    expect(second).toBe(first);
    reference = first;
    const viaExporter = await buildOnFreshDaemon('three', 'exporter');
    expect(viaExporter).toBe(first);

    const config = JSON.parse(
      execFileSync(
        'skopeo',
        ['inspect', '--tls-verify=false', '--config', '--raw', `docker://${registry.host}/repro:one`],
        { encoding: 'utf8' },
      ),
    ) as { created: string; history: { created?: string; created_by?: string }[] };
    expect(Date.parse(config.created)).toBe(Date.parse(epochIso));
    for (const h of config.history) {
      expect(Date.parse(h.created ?? '')).toBeLessThanOrEqual(epoch * 1000);
    }
  }, 300_000);

  test('a layer exported without the epoch is not reused for an export with it', async () => {
    expect(reference).toBeDefined();
    const kilnd = await startKilnd();
    try {
      const plain = await buildOn(kilnd, 'plain', 'none');
      expect(plain).not.toBe(reference);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      // Same daemon, every step cached, layers remembered unclamped: the export must clamp anew.
      expect(await buildOn(kilnd, 'clamped', 'build-arg')).toBe(reference);
      // And the clamped layers are not handed out to a plain export either.
      await buildOn(kilnd, 'plain-again', 'none');
      expect(layersOf('plain-again')).toEqual(layersOf('plain'));
      expect(layersOf('plain-again')).not.toEqual(layersOf('clamped'));
    } finally {
      await kilnd.stop();
      await rm(kilnd.root, { recursive: true, force: true });
    }
  }, 300_000);
});
