import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pushBusyboxImage } from '../support/base-image.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { dockerfileBuildArgs, kilnctl, type Kilnd, type RunResult, startKilnd, tempDir } from './harness.js';

/** Step names of plain progress (`#N [stage i/n] …`) and which of them were CACHED. */
function stepReport(stderr: string): { names: string[]; cached: Set<string> } {
  const byId = new Map<string, string>();
  const cached = new Set<string>();
  for (const line of stderr.split('\n')) {
    const named = /^#(\d+) (\[.*)$/.exec(line);
    if (named?.[1] && named[2] && !byId.has(named[1])) byId.set(named[1], named[2]);
    const c = /^#(\d+) CACHED$/.exec(line);
    if (c?.[1]) cached.add(byId.get(c[1]) ?? c[1]);
  }
  return { names: [...byId.values()], cached };
}

function ok(r: RunResult): RunResult {
  expect(r.code, `kilnctl failed:\n${r.stderr}`).toBe(0);
  return r;
}

describe('Dockerfile semantics end to end (kilnd + kilnctl + runc + registry)', () => {
  let registry: TestRegistry;
  let kilnd: Kilnd;
  let work: string;
  let base: string;
  let base2: string;

  async function context(
    name: string,
    dockerfile: string,
    files: Record<string, string> = {},
  ): Promise<string> {
    const dir = path.join(work, name);
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, 'Dockerfile'),
      dockerfile.replaceAll('BASEIMG2', base2).replaceAll('BASEIMG', base),
    );
    for (const [f, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, f)), { recursive: true });
      await writeFile(path.join(dir, f), content);
    }
    return dir;
  }

  const build = (ctx: string, extra: string[], output?: string) =>
    kilnctl([
      ...dockerfileBuildArgs(kilnd.addr, ctx),
      '--progress',
      'plain',
      ...(output ? ['--output', output] : []),
      ...extra,
    ]);

  const out = async (name: string) => {
    const dir = path.join(work, `out-${name}`);
    await rm(dir, { recursive: true, force: true });
    return dir;
  };

  beforeAll(async () => {
    registry = await startRegistry();
    base = (await pushBusyboxImage(registry.host)).ref;
    base2 = (await pushBusyboxImage(registry.host, 'busybox-two')).ref;
    work = await tempDir('df-semantics');
    kilnd = await startKilnd();
  }, 120_000);
  afterAll(async () => {
    await kilnd?.stop();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('ARG scoping, build-args and the automatic platform args', async () => {
    const ctx = await context(
      'args',
      [
        'ARG BASE=BASEIMG',
        'ARG GLOBAL=g',
        'ARG ARCH_FROM_GLOBAL=${TARGETARCH}',
        'FROM ${BASE} AS build',
        'ARG GLOBAL',
        'ARG ARCH_FROM_GLOBAL',
        'ARG TARGETARCH',
        'ARG LOCAL=l-${GLOBAL}',
        'ENV a=1',
        'ENV a=2 b=$a',
        'RUN echo "$GLOBAL $LOCAL $TARGETARCH $ARCH_FROM_GLOBAL [$TARGETPLATFORM] $a $b" > /out.txt',
        'FROM scratch',
        'COPY --from=build /out.txt /',
        '',
      ].join('\n'),
    );
    const dest = await out('args');
    ok(await build(ctx, ['--opt', 'build-arg:GLOBAL=cli'], `type=local,dest=${dest}`));
    expect(await readFile(path.join(dest, 'out.txt'), 'utf8')).toBe('cli l-cli amd64 amd64 [] 2 1\n');
  }, 120_000);

  test('proxy build-args reach RUN but not its cache key', async () => {
    const ctx = await context('proxy', 'FROM BASEIMG\nRUN echo "proxy=$HTTP_PROXY" > /p.txt\n');
    const dest = await out('proxy');
    const first = ok(
      await build(ctx, ['--opt', 'build-arg:HTTP_PROXY=http://a.invalid:3128'], `type=local,dest=${dest}`),
    );
    expect(await readFile(path.join(dest, 'p.txt'), 'utf8')).toBe('proxy=http://a.invalid:3128\n');
    const run = stepReport(first.stderr).names.find((n) => n.includes('RUN echo'));
    const second = ok(await build(ctx, ['--opt', 'build-arg:HTTP_PROXY=http://b.invalid:3128']));
    expect(stepReport(second.stderr).cached, second.stderr).toContain(run);
  }, 120_000);

  test('only the stages the target needs run; an unknown target is a clear error', async () => {
    const ctx = await context(
      'targets',
      [
        'FROM BASEIMG AS base',
        'RUN echo base > /base.txt',
        'FROM base AS broken',
        'RUN exit 3',
        'FROM base AS app',
        'RUN echo app > /app.txt',
        '',
      ].join('\n'),
    );
    const dest = await out('targets');
    const r = ok(await build(ctx, ['--opt', 'target=app'], `type=local,dest=${dest}`));
    expect(r.stderr).not.toContain('exit 3');
    expect(await readFile(path.join(dest, 'app.txt'), 'utf8')).toBe('app\n');
    const bad = await build(ctx, ['--opt', 'target=nope']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('target stage "nope" could not be found');
  }, 120_000);

  test('named contexts: docker-image://, local: and target:', async () => {
    const ctx = await context(
      'named',
      [
        'FROM BASEIMG AS builder',
        'RUN echo built > /built.txt',
        'FROM img AS fromimg',
        'RUN echo from-image > /img.txt',
        'FROM scratch',
        'COPY --from=fromimg /img.txt /',
        'COPY --from=assets / /assets/',
        'COPY --from=built /built.txt /',
        '',
      ].join('\n'),
    );
    const assets = path.join(work, 'assets-dir');
    await mkdir(assets, { recursive: true });
    await writeFile(path.join(assets, 'a.txt'), 'a');
    await writeFile(path.join(assets, 'drop.tmp'), 'x');
    await writeFile(path.join(assets, 'keep.tmp'), 'k');
    await writeFile(path.join(assets, '.dockerignore'), '*.tmp\n!keep.tmp\n');
    const dest = await out('named');
    ok(
      await build(
        ctx,
        [
          '--local',
          `assetsdir=${assets}`,
          '--opt',
          `context:img=docker-image://${base}`,
          '--opt',
          'context:assets=local:assetsdir',
          '--opt',
          'context:built=target:builder',
        ],
        `type=local,dest=${dest}`,
      ),
    );
    expect(await readFile(path.join(dest, 'img.txt'), 'utf8')).toBe('from-image\n');
    expect(await readFile(path.join(dest, 'built.txt'), 'utf8')).toBe('built\n');
    expect(await readFile(path.join(dest, 'assets/a.txt'), 'utf8')).toBe('a');
    expect(await readFile(path.join(dest, 'assets/keep.tmp'), 'utf8')).toBe('k');
    await expect(stat(path.join(dest, 'assets/drop.tmp'))).rejects.toThrow();
  }, 120_000);

  test('a local: named context without its --local is an error naming it', async () => {
    const ctx = await context('named-missing', 'FROM scratch\nCOPY --from=assets / /assets/\n');
    const bad = await build(ctx, ['--opt', 'context:assets=local:notgiven']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('notgiven');
  }, 120_000);

  test('.dockerignore and <Dockerfile>.dockerignore with negations', async () => {
    const ctx = await context('ignore', 'FROM scratch\nCOPY . /ctx/\n', {
      '.dockerignore': '*.log\n!keep.log\n',
      'drop.log': 'd',
      'keep.log': 'k',
      'sub/x.txt': 'x',
      'app.Dockerfile': 'FROM scratch\nCOPY . /ctx/\n',
      'app.Dockerfile.dockerignore': 'sub\n*.log\n!drop.log\n',
    });
    const dest = await out('ignore');
    ok(await build(ctx, [], `type=local,dest=${dest}`));
    expect(await readFile(path.join(dest, 'ctx/keep.log'), 'utf8')).toBe('k');
    expect(await readFile(path.join(dest, 'ctx/sub/x.txt'), 'utf8')).toBe('x');
    await expect(stat(path.join(dest, 'ctx/drop.log'))).rejects.toThrow();

    const dest2 = await out('ignore2');
    ok(await build(ctx, ['--opt', 'filename=app.Dockerfile'], `type=local,dest=${dest2}`));
    expect(await readFile(path.join(dest2, 'ctx/drop.log'), 'utf8')).toBe('d');
    await expect(stat(path.join(dest2, 'ctx/keep.log'))).rejects.toThrow();
    await expect(stat(path.join(dest2, 'ctx/sub'))).rejects.toThrow();
  }, 120_000);

  test('COPY --chmod octal, --parents with a /./ pivot, repeated --exclude', async () => {
    const ctx = await context(
      'copyflags',
      [
        'FROM scratch',
        'COPY --chmod=0640 run.sh /octal.sh',
        'COPY --parents src/./a/**/*.txt /parents/',
        'COPY --parents docs/keep.txt /whole/',
        'COPY --exclude=*.md --exclude=skip docs /docs/',
        '',
      ].join('\n'),
      {
        'run.sh': '#!/bin/sh\n',
        'src/a/b/one.txt': '1',
        'src/a/two.txt': '2',
        'src/a/b/no.bin': 'n',
        'docs/keep.txt': 'k',
        'docs/readme.md': 'r',
        'docs/skip/x.txt': 'x',
      },
    );
    const dest = await out('copyflags');
    ok(await build(ctx, [], `type=local,dest=${dest}`));
    expect((await stat(path.join(dest, 'octal.sh'))).mode & 0o7777).toBe(0o640);
    expect(await readFile(path.join(dest, 'parents/a/b/one.txt'), 'utf8')).toBe('1');
    expect(await readFile(path.join(dest, 'parents/a/two.txt'), 'utf8')).toBe('2');
    await expect(stat(path.join(dest, 'parents/a/b/no.bin'))).rejects.toThrow();
    await expect(stat(path.join(dest, 'parents/src'))).rejects.toThrow();
    expect(await readFile(path.join(dest, 'whole/docs/keep.txt'), 'utf8')).toBe('k');
    expect(await readFile(path.join(dest, 'docs/keep.txt'), 'utf8')).toBe('k');
    await expect(stat(path.join(dest, 'docs/readme.md'))).rejects.toThrow();
    await expect(stat(path.join(dest, 'docs/skip'))).rejects.toThrow();
  }, 120_000);

  test('COPY --chmod symbolic is applied relative to the source mode', async () => {
    const ctx = await context(
      'chmod-symbolic',
      [
        'FROM scratch',
        'COPY --chmod=u+x,go-r run.sh /a.sh',
        'COPY --chmod=a=r run.sh /b.sh',
        'COPY --chmod=go+w dir /dir/',
        '',
      ].join('\n'),
      { 'run.sh': '#!/bin/sh\n', 'dir/f.txt': 'f' },
    );
    await chmod(path.join(ctx, 'run.sh'), 0o644);
    await chmod(path.join(ctx, 'dir/f.txt'), 0o600);
    const dest = await out('chmod-symbolic');
    ok(await build(ctx, [], `type=local,dest=${dest}`));
    const mode = async (p: string) => (await stat(path.join(dest, p))).mode & 0o7777;
    expect(await mode('a.sh')).toBe(0o700); // chmod(1): 0644 → u+x → 0744 → go-r → 0700
    expect(await mode('b.sh')).toBe(0o444);
    expect(await mode('dir/f.txt')).toBe(0o622);
  }, 120_000);

  test('COPY --link stays cached when the base stage changes', async () => {
    const ctx = await context(
      'link',
      ['FROM BASEIMG', 'ARG V=1', 'RUN echo $V > /v.txt', 'COPY --link data.txt /data.txt', ''].join('\n'),
      { 'data.txt': 'data' },
    );
    const first = ok(await build(ctx, ['--opt', 'build-arg:V=1']));
    const linkStep = stepReport(first.stderr).names.find((n) => n.includes('COPY --link data.txt'));
    expect(linkStep, first.stderr).toBeDefined();
    const second = ok(await build(ctx, ['--opt', 'build-arg:V=2']));
    const report = stepReport(second.stderr);
    const run = report.names.find((n) => n.includes('RUN echo'));
    expect(run && report.cached.has(run), `RUN should rerun:\n${second.stderr}`).toBe(false);
    expect(report.cached, second.stderr).toContain(linkStep);
  }, 120_000);

  test('no-cache=<stage> reruns only that stage', async () => {
    // Separate base images: a FROM shared by both stages would be one vertex, marked no-cache.
    const ctx = await context(
      'nocache',
      [
        'FROM BASEIMG AS one',
        'RUN echo one > /one.txt',
        'FROM BASEIMG2 AS two',
        'RUN echo two > /two.txt',
        'COPY --from=one /one.txt /',
        '',
      ].join('\n'),
    );
    ok(await build(ctx, []));
    const again = ok(await build(ctx, ['--opt', 'no-cache=one']));
    const report = stepReport(again.stderr);
    const runOne = report.names.find((n) => n.startsWith('[one') && n.includes('RUN'));
    const runTwo = report.names.find((n) => n.startsWith('[two') && n.includes('RUN'));
    expect(runOne && runTwo, again.stderr).toBeTruthy();
    expect(report.cached.has(runOne ?? ''), again.stderr).toBe(false);
    expect(report.cached.has(runTwo ?? ''), again.stderr).toBe(true);
  }, 120_000);

  test('label opts reach the image config; add-hosts reach /etc/hosts of RUN', async () => {
    const ctx = await context('labels', 'FROM BASEIMG\nLABEL from.df=yes\nRUN cat /etc/hosts > /hosts.txt\n');
    const name = `${registry.host}/semantics/labels:1`;
    ok(
      await build(
        ctx,
        ['--opt', 'label:org.example.team=kiln', '--opt', 'add-hosts=myhost=10.1.2.3,Other=10.4.5.6'],
        `type=image,name=${name},push=true`,
      ),
    );
    const accept =
      'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';
    const manifest = (await (
      await fetch(`http://${registry.host}/v2/semantics/labels/manifests/1`, { headers: { accept } })
    ).json()) as { config: { digest: string } };
    const config = (await (
      await fetch(`http://${registry.host}/v2/semantics/labels/blobs/${manifest.config.digest}`)
    ).json()) as { config: { Labels: Record<string, string> } };
    expect(config.config.Labels).toEqual({ 'from.df': 'yes', 'org.example.team': 'kiln' });

    const dest = await out('hosts');
    ok(await build(ctx, ['--opt', 'add-hosts=myhost=10.1.2.3,Other=10.4.5.6'], `type=local,dest=${dest}`));
    const hosts = await readFile(path.join(dest, 'hosts.txt'), 'utf8');
    expect(hosts).toMatch(/^10\.1\.2\.3\s+myhost$/m);
    expect(hosts).toMatch(/^10\.4\.5\.6\s+other$/m);
  }, 120_000);

  test('platform: linux/amd64 builds, linux/arm64 is refused early', async () => {
    const ctx = await context('platform', 'FROM BASEIMG\nRUN uname -m > /arch.txt\n');
    const dest = await out('platform');
    ok(await build(ctx, ['--opt', 'platform=linux/amd64'], `type=local,dest=${dest}`));
    const bad = await build(ctx, ['--opt', 'platform=linux/arm64']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain(
      'platform linux/arm64 is not supported by this kilnd (worker platforms: linux/amd64)',
    );
    expect(bad.stderr).not.toContain('uname');
  }, 120_000);

  test('subrequests through kilnctl: --print targets|outline, --format json, --opt requestid', async () => {
    const ctx = await context(
      'print',
      [
        'ARG VERSION=1',
        '# base the base stage',
        'FROM BASEIMG AS base',
        '# MODE build mode',
        'ARG MODE=dev',
        'RUN --mount=type=secret,id=tok echo should-not-run',
        '# app the app',
        'FROM base AS app',
        'RUN echo nope',
        '',
      ].join('\n'),
    );
    const targets = ok(await build(ctx, ['--print', 'targets']));
    expect(targets.stdout).toBe(
      'TARGET        DESCRIPTION\nbase          the base stage\napp (default) the app\n',
    );
    expect(targets.stderr).not.toContain('should-not-run');

    const outline = ok(await build(ctx, ['--print', 'outline', '--format', 'json', '--opt', 'target=base']));
    const json = JSON.parse(outline.stdout) as {
      name: string;
      args: { Name: string; Value: string }[];
      secrets: { Name: string }[];
    };
    expect(json.name).toBe('base');
    expect(json.args.map((a) => [a.Name, a.Value])).toEqual([['MODE', 'dev']]);
    expect(json.secrets.map((s) => s.Name)).toEqual(['tok']);
    expect(outline.stderr).not.toContain('should-not-run');

    const text = ok(
      await build(ctx, ['--opt', 'requestid=frontend.outline', '--opt', 'build-arg:MODE=prod']),
    );
    expect(text.stdout).toContain('TARGET:      app');
    expect(text.stdout).toMatch(/^MODE\s+prod\s+build mode$/m);

    const bad = await build(ctx, ['--opt', 'requestid=frontend.nope']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('unsupported request frontend.nope');
  }, 120_000);
});
