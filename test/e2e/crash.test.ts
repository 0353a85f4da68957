import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dockerfileBuildArgs, kilnctl, kilnctlBin, type Kilnd, startKilnd, tempDir } from './harness.js';

const dockerfile = 'FROM scratch\nCOPY . /app/\n';

async function makeContext(dir: string): Promise<void> {
  await writeFile(path.join(dir, 'Dockerfile'), dockerfile);
  for (let d = 0; d < 40; d++) {
    const sub = path.join(dir, `d${d}`);
    await mkdir(sub, { recursive: true });
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => writeFile(path.join(sub, `f${i}`), `${d}/${i}\n`.repeat(200))),
    );
  }
}

function buildArgs(kilnd: Kilnd, ctx: string, out: string): string[] {
  return [
    ...dockerfileBuildArgs(kilnd.addr, ctx),
    '--output',
    `type=local,dest=${out}`,
    '--progress',
    'plain',
  ];
}

/** Starts kilnctl and resolves once it has printed `needle` (or exited). */
function startBuild(args: string[], needle: RegExp) {
  const child = spawn(process.execPath, [kilnctlBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const seen = new Promise<void>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (needle.test(stderr)) resolve();
    });
    void exited.then(() => resolve());
  });
  return { child, seen, exited, stderr: () => stderr };
}

interface DuRecord {
  readonly InUse?: boolean;
  readonly inUse?: boolean;
}

describe('crashes and clients that go away', () => {
  let kilnd: Kilnd;
  let ctx: string;
  let work: string;

  beforeAll(async () => {
    ctx = await tempDir('crashctx');
    work = await tempDir('crashwork');
    await makeContext(ctx);
    kilnd = await startKilnd();
  }, 60_000);
  afterAll(async () => {
    await kilnd?.stop();
    await rm(ctx, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  test('a client killed mid-build cancels its build and releases what it held', async () => {
    const build = startBuild(buildArgs(kilnd, ctx, path.join(work, 'gone')), /load build context/);
    await build.seen;
    build.child.kill('SIGKILL');
    await build.exited;
    // The daemon notices the session end, cancels, and lets go of every ref.
    let records: DuRecord[] = [];
    for (let i = 0; i < 50; i++) {
      const du = await kilnctl(['--addr', kilnd.addr, 'du', '--format', 'json']);
      expect(du.code, du.stderr).toBe(0);
      records = JSON.parse(du.stdout) as DuRecord[];
      if (records.every((r) => !(r.InUse ?? r.inUse))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(records.filter((r) => r.InUse ?? r.inUse)).toEqual([]);
    const ok = await kilnctl(buildArgs(kilnd, ctx, path.join(work, 'after-cancel')));
    expect(ok.code, ok.stderr).toBe(0);
  }, 120_000);

  test('kill -9 of kilnd during a build: the next start is clean and the cache consistent', async () => {
    for (const needle of [/load build context/, /COPY \. \/app/]) {
      const out = path.join(work, `crash-${needle.source.length}`);
      const build = startBuild(buildArgs(kilnd, ctx, out), needle);
      await build.seen;
      await kilnd.kill9();
      expect(await build.exited).not.toBe(0);
      kilnd = await startKilnd({ root: kilnd.root });
      const again = await kilnctl(buildArgs(kilnd, ctx, out));
      expect(again.code, again.stderr).toBe(0);
      expect(await readFile(path.join(out, 'app/d3/f7'), 'utf8')).toBe('3/7\n'.repeat(200));
      const cached = await kilnctl(buildArgs(kilnd, ctx, out));
      expect(cached.code, cached.stderr).toBe(0);
      expect(cached.stderr).toMatch(/COPY \. \/app\/\n#\d+ CACHED/);
    }
    expect(kilnd.output()).not.toMatch(/Error|error:/);
  }, 300_000);
});
