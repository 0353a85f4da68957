import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dockerfileBuildArgs, kilnctl, type Kilnd, startKilnd, tempDir } from './harness.js';
import { expectedTree, multistageFixture as fixture, snapshotTar, snapshotTree } from './trees.js';

function buildArgs(kilnd: Kilnd, output: string, extra: string[] = []): string[] {
  return [
    ...dockerfileBuildArgs(kilnd.addr, fixture),
    '--opt',
    'build-arg:GREETING=hi',
    '--output',
    output,
    '--progress',
    'plain',
    ...extra,
  ];
}

/** Step lines of plain progress: `#N [stage i/n] …` names, and which of them were CACHED. */
function stepReport(stderr: string): { steps: string[]; cached: Set<string> } {
  const names = new Map<string, string>();
  const cached = new Set<string>();
  for (const line of stderr.split('\n')) {
    const named = /^#(\d+) (\[.*)$/.exec(line);
    if (named?.[1] && named[2] && !names.has(named[1])) names.set(named[1], named[2]);
    const c = /^#(\d+) CACHED$/.exec(line);
    if (c?.[1]) cached.add(names.get(c[1]) ?? c[1]);
  }
  const steps = [...names.values()].filter((n) => /^\[(tools|data|stage-\d+) \d+\/\d+\]/.test(n));
  return { steps, cached };
}

describe('kilnctl build against kilnd (FROM scratch multi-stage)', () => {
  let kilnd: Kilnd;
  let work: string;

  beforeAll(async () => {
    kilnd = await startKilnd();
    work = await tempDir('e2e');
  });
  afterAll(async () => {
    await kilnd?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('exports exactly the expected files and modes to a local directory', async () => {
    const dest = path.join(work, 'out-local');
    const r = await kilnctl(buildArgs(kilnd, `type=local,dest=${dest}`));
    expect(r.stderr).toContain('DONE');
    expect(r.code, r.stderr).toBe(0);
    expect(await snapshotTree(dest)).toEqual(expectedTree);
    // The completed status still says how much was copied (the five files' 57 bytes).
    expect(r.stderr).toMatch(/^#\d+ copying files 57B (\d+\.\d+s )?done$/m);
  });

  test('exports the same files as a tar', async () => {
    const dest = path.join(work, 'out.tar');
    const r = await kilnctl(buildArgs(kilnd, `type=tar,dest=${dest}`));
    expect(r.code, r.stderr).toBe(0);
    expect(await snapshotTar(dest)).toEqual(expectedTree);
  });

  test('a repeated build is CACHED at every step, also after a restart', async () => {
    const first = await kilnctl(buildArgs(kilnd, 'type=local,dest=' + path.join(work, 'warm')));
    expect(first.code, first.stderr).toBe(0);
    const again = await kilnctl(buildArgs(kilnd, 'type=local,dest=' + path.join(work, 'again')));
    expect(again.code, again.stderr).toBe(0);
    const report = stepReport(again.stderr);
    expect(report.steps.length).toBeGreaterThanOrEqual(7);
    for (const step of report.steps)
      expect(report.cached, `${step} was not cached:\n${again.stderr}`).toContain(step);

    expect(await kilnd.stop()).toBe(0);
    kilnd = await startKilnd({ root: kilnd.root });
    const restarted = await kilnctl(buildArgs(kilnd, 'type=local,dest=' + path.join(work, 'restarted')));
    expect(restarted.code, restarted.stderr).toBe(0);
    const after = stepReport(restarted.stderr);
    for (const step of after.steps)
      expect(after.cached, `${step} not cached after restart:\n${restarted.stderr}`).toContain(step);
    expect(await snapshotTree(path.join(work, 'restarted'))).toEqual(expectedTree);
  });

  test('a Dockerfile syntax error names the file and line and shows the line', async () => {
    const ctx = path.join(work, 'broken');
    await mkdir(ctx, { recursive: true });
    await writeFile(path.join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY a /a\nFORM scratch\n');
    await writeFile(path.join(ctx, 'a'), 'a');
    const r = await kilnctl([...dockerfileBuildArgs(kilnd.addr, ctx), '--progress', 'plain']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Dockerfile:3/);
    expect(r.stderr).toContain('FORM scratch');
    // The daemon keeps serving.
    const ok = await kilnctl(['--addr', kilnd.addr, 'debug', 'workers']);
    expect(ok.code, ok.stderr).toBe(0);
  });

  test('unknown frontend and unknown exporter are clear errors', async () => {
    const badFrontend = await kilnctl([
      '--addr',
      kilnd.addr,
      'build',
      '--frontend',
      'nosuch.v0',
      '--local',
      `context=${fixture}`,
      '--local',
      `dockerfile=${fixture}`,
    ]);
    expect(badFrontend.code).not.toBe(0);
    expect(badFrontend.stderr).toMatch(/unknown frontend "nosuch\.v0"/);
    const badExporter = await kilnctl(buildArgs(kilnd, 'type=nosuch'));
    expect(badExporter.code).not.toBe(0);
    expect(badExporter.stderr).toMatch(/nosuch/);
  });

  test('cache export and import are refused clearly, not silently skipped', async () => {
    const r = await kilnctl(
      buildArgs(kilnd, 'type=local,dest=' + path.join(work, 'cache-out'), [
        '--export-cache',
        `type=local,dest=${path.join(work, 'cache')}`,
      ]),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cache export\/import \(local\) is not supported by kilnd yet/);
  });

  test('a missing --local is a clear error', async () => {
    const r = await kilnctl([
      '--addr',
      kilnd.addr,
      'build',
      '--frontend',
      'dockerfile.v0',
      '--local',
      `context=${fixture}`,
      '--progress',
      'plain',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/dockerfile/);
  });

  test('malformed LLB on stdin is INVALID_ARGUMENT and the daemon keeps serving', async () => {
    const r = await kilnctl(['--addr', kilnd.addr, 'build', '--progress', 'plain'], {
      input: Buffer.from('this is not a protobuf definition \xff\xff\xff'),
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr.toLowerCase()).toMatch(/invalid/);
    const ok = await kilnctl(['--addr', kilnd.addr, 'du']);
    expect(ok.code, ok.stderr).toBe(0);
  });

  test('du lists records with sizes and prune --all frees them', async () => {
    const du = await kilnctl(['--addr', kilnd.addr, 'du', '--format', 'json']);
    expect(du.code, du.stderr).toBe(0);
    const records = JSON.parse(du.stdout) as { ID?: string; id?: string; Size?: number; size?: number }[];
    expect(records.length).toBeGreaterThan(0);
    const prune = await kilnctl(['--addr', kilnd.addr, 'prune', '--all']);
    expect(prune.code, prune.stderr).toBe(0);
    expect(prune.stdout).toMatch(/Total:/);
    const after = await kilnctl(['--addr', kilnd.addr, 'du', '--format', 'json']);
    expect(JSON.parse(after.stdout)).toHaveLength(0);
  });
});
