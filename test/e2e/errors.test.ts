import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pushBusyboxImage } from '../support/base-image.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { dockerfileBuildArgs, kilnctl, type Kilnd, startKilnd, tempDir } from './harness.js';

/**
 * Dockerfile errors through the real kilnd + kilnctl: the failing step is named by file and line,
 * with the lines around it (from the errdefs.Source the daemon puts in the gRPC status details).
 */
describe('errors carry their Dockerfile location; lint warnings are printed', () => {
  let registry: TestRegistry;
  let kilnd: Kilnd;
  let work: string;
  let base: string;
  let n = 0;

  async function build(dockerfile: string, files: Record<string, string> = {}, extra: string[] = []) {
    const dir = path.join(work, `ctx-${n++}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'Dockerfile'), dockerfile.replaceAll('BASE', base));
    for (const [f, content] of Object.entries(files)) await writeFile(path.join(dir, f), content);
    return kilnctl([...dockerfileBuildArgs(kilnd.addr, dir), '--progress', 'plain', ...extra]);
  }

  beforeAll(async () => {
    registry = await startRegistry();
    base = (await pushBusyboxImage(registry.host)).ref;
    work = await tempDir('errors');
    kilnd = await startKilnd();
  }, 120_000);
  afterAll(async () => {
    await kilnd?.stop();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('a failing RUN points at its line', async () => {
    const r = await build('FROM BASE\nRUN true\n\nRUN exit 3\nRUN echo never\n');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Dockerfile:4');
    expect(r.stderr).toMatch(/^\s+4 \| >>> RUN exit 3$/m);
    expect(r.stderr).toMatch(/^\s+2 \| {5}RUN true$/m);
    expect(r.stderr).toMatch(/exit code: 3|exited with 3|status 3/);
  }, 120_000);

  test('a missing COPY source points at the COPY', async () => {
    const r = await build('FROM scratch\nCOPY present.txt /a\nCOPY missing.txt /b\n', { 'present.txt': 'x' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Dockerfile:3');
    expect(r.stderr).toMatch(/^\s+3 \| >>> COPY missing.txt \/b$/m);
  }, 60_000);

  test('an unknown instruction is a located syntax error, after the warnings before it', async () => {
    const r = await build('FROM scratch AS BadStageName\nMAINTAINER me@example.org\nBADCMD\n');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unknown instruction: BADCMD');
    expect(r.stderr).toContain('Dockerfile:3');
    expect(r.stderr).toMatch(/^\s+3 \| >>> BADCMD$/m);
    expect(r.stderr).toContain(
      "WARNING: StageNameCasing: Stage name 'BadStageName' should be lowercase (line 1)",
    );
    expect(r.stderr).toContain('WARNING: MaintainerDeprecated:');
  }, 60_000);

  test('a FROM of a missing image points at the FROM', async () => {
    const r = await build(`FROM scratch\nFROM ${registry.host}/no/such-image:1\nRUN true\n`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Dockerfile:2');
    expect(r.stderr).toMatch(/^\s+2 \| >>> FROM .*no\/such-image:1$/m);
  }, 60_000);

  test('lint warnings print at the end; check error=true fails the build', async () => {
    const df = 'FROM scratch as base\nCOPY a.txt /a\n';
    const ok = await build(df, { 'a.txt': 'a' });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain(
      "WARNING: FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)",
    );
    expect(ok.stderr).toContain('https://docs.docker.com/go/dockerfile/rule/from-as-casing/');

    const failed = await build(`# check=error=true\n${df}`, { 'a.txt': 'a' });
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('lint violation found for rules: FromAsCasing');
    expect(failed.stderr).toContain('Dockerfile:2');

    const skipped = await build(`# check=error=true\n${df}`, { 'a.txt': 'a' }, [
      '--opt',
      'build-arg:BUILDKIT_DOCKERFILE_CHECK=skip=FromAsCasing',
    ]);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stderr).not.toContain('WARNING: FromAsCasing');
  }, 60_000);
});
