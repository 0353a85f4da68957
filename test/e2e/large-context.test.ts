import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dockerfileBuildArgs, kilnctl, type Kilnd, startKilnd, tempDir } from './harness.js';

/** 20,000 files in two halves read by two independent stages. */
const filesPerHalf = 10_000;

const dockerfile = `FROM scratch AS left
COPY a/ /a/

FROM scratch AS right
COPY b/ /b/

FROM scratch
COPY --from=left /a /a
COPY --from=right /b /b
`;

async function makeContext(dir: string): Promise<void> {
  await writeFile(path.join(dir, 'Dockerfile'), dockerfile);
  for (const half of ['a', 'b']) {
    for (let d = 0; d < 100; d++) {
      const sub = path.join(dir, half, `d${d}`);
      await mkdir(sub, { recursive: true });
      await Promise.all(
        Array.from({ length: filesPerHalf / 100 }, (_, i) =>
          writeFile(path.join(sub, `f${i}.txt`), `${half}-${d}-${i}\n`),
        ),
      );
    }
  }
}

const units: Record<string, number> = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 };

/**
 * Bytes of the final "transferring context: …" status of the build context (the plain printer
 * writes `transferring context: done` without a size when nothing moved).
 */
function contextBytes(stderr: string): number {
  const section = stderr.slice(stderr.lastIndexOf('[internal] load build context'));
  let bytes = -1;
  const re = /transferring context: (?:([\d.]+)(B|kB|MB|GB)|done)/g;
  for (let m = re.exec(section); m; m = re.exec(section)) {
    bytes = m[1] === undefined ? Math.max(bytes, 0) : Number(m[1]) * (units[m[2] ?? 'B'] ?? 1);
  }
  return bytes;
}

function cachedSteps(stderr: string): { cached: Set<string>; ran: Set<string> } {
  const names = new Map<string, string>();
  const cached = new Set<string>();
  const ran = new Set<string>();
  for (const line of stderr.split('\n')) {
    const named = /^#(\d+) (\[.*)$/.exec(line);
    if (named?.[1] && named[2] && !names.has(named[1])) names.set(named[1], named[2]);
    const done = /^#(\d+) (CACHED|DONE)/.exec(line);
    if (done?.[1]) (done[2] === 'CACHED' ? cached : ran).add(names.get(done[1]) ?? done[1]);
  }
  return { cached, ran };
}

describe('a 20,000-file context', () => {
  let kilnd: Kilnd;
  let ctx: string;
  let out: string;

  beforeAll(async () => {
    kilnd = await startKilnd();
    ctx = await tempDir('bigctx');
    out = await tempDir('bigout');
    await makeContext(ctx);
  }, 120_000);
  afterAll(async () => {
    await kilnd?.stop();
    await rm(ctx, { recursive: true, force: true });
    await rm(out, { recursive: true, force: true });
  });

  const build = () =>
    kilnctl([
      ...dockerfileBuildArgs(kilnd.addr, ctx),
      '--output',
      `type=local,dest=${out}`,
      '--progress',
      'plain',
    ]);

  test('changing one file moves only its bytes and re-runs only the steps that read it', async () => {
    const cold = await build();
    expect(cold.code, cold.stderr).toBe(0);
    expect(contextBytes(cold.stderr)).toBeGreaterThan(100_000);

    const unchanged = await build();
    expect(unchanged.code, unchanged.stderr).toBe(0);
    expect(contextBytes(unchanged.stderr)).toBe(0);
    const warm = cachedSteps(unchanged.stderr);
    expect(warm.cached).toContain('[left 1/1] COPY a/ /a/');
    expect(warm.cached).toContain('[right 1/1] COPY b/ /b/');

    const changed = 'changed!\n';
    await writeFile(path.join(ctx, 'a/d7/f42.txt'), changed);
    const one = await build();
    expect(one.code, one.stderr).toBe(0);
    expect(contextBytes(one.stderr)).toBe(Buffer.byteLength(changed));
    const steps = cachedSteps(one.stderr);
    expect(steps.ran).toContain('[left 1/1] COPY a/ /a/');
    expect(steps.cached).toContain('[right 1/1] COPY b/ /b/');
    expect(steps.ran).not.toContain('[right 1/1] COPY b/ /b/');
  }, 300_000);
});
