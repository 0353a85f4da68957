import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pushBusyboxImage } from '../support/base-image.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { dockerfileBuildArgs, kilnctl, type Kilnd, startKilnd, tempDir } from './harness.js';

describe('entitlements: RUN --security=insecure and --network=host', () => {
  let registry: TestRegistry;
  let strict: Kilnd;
  let permissive: Kilnd;
  let work: string;
  let ctx: string;

  beforeAll(async () => {
    registry = await startRegistry();
    const base = (await pushBusyboxImage(registry.host)).ref;
    work = await tempDir('entitlements');
    ctx = path.join(work, 'ctx');
    await mkdir(ctx);
    await writeFile(
      path.join(ctx, 'Dockerfile'),
      `FROM ${base}
RUN --security=insecure grep CapEff /proc/self/status > /caps && mkdir -p /m && mount -t tmpfs none /m && umount /m && echo mounted > /mounted
RUN --network=host echo host > /net
`,
    );
    strict = await startKilnd();
    permissive = await startKilnd({
      args: [
        '--allow-insecure-entitlement',
        'security.insecure',
        '--allow-insecure-entitlement',
        'network.host',
      ],
    });
  }, 120_000);
  afterAll(async () => {
    await strict?.stop();
    await permissive?.stop();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const build = (kilnd: Kilnd, out: string, allow: string[]) =>
    kilnctl([
      ...dockerfileBuildArgs(kilnd.addr, ctx),
      '--output',
      `type=local,dest=${path.join(work, out)}`,
      ...allow.flatMap((a) => ['--allow', a]),
    ]);

  test('a daemon that does not allow an entitlement refuses the request', async () => {
    const r = await build(strict, 'strict', ['security.insecure']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /granting entitlement security\.insecure is not allowed by build daemon configuration/,
    );
  });

  test('a client that does not ask for it gets a clear error naming the step', async () => {
    const r = await build(permissive, 'no-allow', []);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /\[\d\/3\] RUN --(security=insecure|network=host) .*: (security\.insecure|network\.host) is not allowed \(build with --allow \2\)/,
    );
  });

  test('granted by both, the step runs privileged and with the host network', async () => {
    const r = await build(permissive, 'granted', ['security.insecure', 'network.host']);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(path.join(work, 'granted', 'mounted'), 'utf8')).toBe('mounted\n');
    // Every capability: CapEff has all bits of the running kernel's capability set.
    const capEff = (await readFile(path.join(work, 'granted', 'caps'), 'utf8')).trim().split(/\s+/)[1] ?? '';
    expect(BigInt(`0x${capEff}`) & 0x200000n).toBe(0x200000n); // CAP_SYS_ADMIN
    expect(await readFile(path.join(work, 'granted', 'net'), 'utf8')).toBe('host\n');
  });
});
