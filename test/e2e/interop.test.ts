/**
 * Wire interop with real BuildKit code, both ways. No buildctl or buildkitd binary exists here,
 * so the peers are what Debian ships (see test/support/buildkit-peers.ts): BuildKit 0.8's own Go
 * client library driving kilnd, and docker.io's embedded BuildKit 0.8 daemon driven by kilnctl.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pushBusyboxImage } from '../support/base-image.js';
import {
  type BuildkitSocket,
  buildBkclient,
  dockerBuildkitSocket,
  runBkclient,
} from '../support/buildkit-peers.js';
import { startDockerd, type TestDockerd } from '../support/dockerd.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { type Kilnd, kilnctl, startKilnd, tempDir } from './harness.js';
import { expectedTree, multistageFixture, snapshotTar, snapshotTree } from './trees.js';

const fixtureFlags = (dockerfile = 'Dockerfile') => [
  '--frontend',
  'dockerfile.v0',
  '--local',
  `context=${multistageFixture}`,
  '--local',
  `dockerfile=${multistageFixture}`,
  '--opt',
  `filename=${dockerfile}`,
  '--opt',
  'build-arg:GREETING=hi',
];

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A context directory with a Dockerfile (BASE replaced by the base image) and files. */
async function writeContext(
  dir: string,
  dockerfile: string,
  files: Record<string, string> = {},
): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'Dockerfile'), dockerfile);
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
  return dir;
}

// A base stage and two independent RUN stages from the registry image, with a secret.
const runDockerfile = (base: string) => `FROM ${base} AS base
RUN echo base > /base.txt

FROM base AS one
RUN --mount=type=secret,id=token cat /run/secrets/token > /one.txt

FROM base AS two
RUN echo two > /two.txt && id -u >> /two.txt

FROM base
COPY --from=one /one.txt /one.txt
COPY --from=two /two.txt /two.txt
CMD ["cat", "/base.txt", "/one.txt", "/two.txt"]
`;

describe("BuildKit's Go client (v0.8) against kilnd", () => {
  let bkclient: string;
  let kilnd: Kilnd;
  let registry: TestRegistry;
  let base: string;
  let baseDigest: string;
  let work: string;
  const bk = (args: string[], input?: Buffer) =>
    runBkclient(bkclient, ['--addr', kilnd.addr, ...args], { input });

  beforeAll(async () => {
    bkclient = await buildBkclient(path.join(os.tmpdir(), 'kiln-bkclient'));
    registry = await startRegistry();
    ({ ref: base, digest: baseDigest } = await pushBusyboxImage(registry.host));
    kilnd = await startKilnd();
    work = await tempDir('interop');
  }, 600_000);
  afterAll(async () => {
    await kilnd?.stop();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('debug workers and du', async () => {
    const workers = await bk(['debug', 'workers']);
    expect(workers.code, workers.stderr).toBe(0);
    expect(workers.stdout).toMatch(/\tlinux\/amd64/);
    const du = await bk(['du']);
    expect(du.code, du.stderr).toBe(0);
  });

  test('the three-stage FROM-scratch Dockerfile exports exactly the expected files, locally and as a tar', async () => {
    const dest = path.join(work, 'bk-local');
    const r = await bk(['build', ...fixtureFlags(), '--output', `type=local,dest=${dest}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(await snapshotTree(dest)).toEqual(expectedTree);

    const tar = path.join(work, 'bk.tar');
    const t = await bk(['build', ...fixtureFlags(), '--output', `type=tar,dest=${tar}`]);
    expect(t.code, t.stderr).toBe(0);
    expect(await snapshotTar(tar)).toEqual(expectedTree);
    // The second build was served from the cache, step by step.
    const steps = t.stderr.split('\n').filter((l) => /^#\d+ \[(tools|data|stage-2) /.test(l));
    expect(steps.length).toBeGreaterThan(0);
    expect(
      steps.every((l) => l.endsWith(' CACHED')),
      steps.join('\n'),
    ).toBe(true);
  });

  test('the client-side gateway (Control.Solve without a frontend, then LLBBridge) builds the same', async () => {
    const dest = path.join(work, 'bk-gateway');
    const r = await bk(['build', '--gateway', ...fixtureFlags(), '--output', `type=local,dest=${dest}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(await snapshotTree(dest)).toEqual(expectedTree);
  });

  test('a client-side frontend reads the result (ReadFile, StatFile, ReadDir) and resolves an image config', async () => {
    const r = await bk([
      'build',
      '--gateway',
      '--gateway-inspect',
      `/out/tools/run.sh,${base}`,
      ...fixtureFlags(),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const seen = JSON.parse(r.stdout) as {
      readFile: string;
      readFileRange: string;
      stat: { mode: number; size: number };
      readDir: string[];
      imageDigest: string;
      imageConfig: { os: string; architecture: string; config: { Env: string[] } };
    };
    expect(seen.readFile).toBe('#!/bin/sh\necho run\n');
    expect(seen.readFileRange).toBe('!/');
    expect(seen.stat).toMatchObject({ mode: 0o755, size: 19 });
    expect(seen.readDir).toEqual(['run.sh', 'tools.conf']);
    expect(seen.imageDigest).toBe(baseDigest);
    expect(seen.imageConfig).toMatchObject({ os: 'linux', architecture: 'amd64' });
  });

  test("LLB marshalled by BuildKit's llb package is solved from stdin", async () => {
    const demo = await runBkclient(bkclient, ['llb-demo']);
    expect(demo.code, demo.stderr).toBe(0);
    const dest = path.join(work, 'bk-llb');
    const r = await bk(['build', '--output', `type=local,dest=${dest}`], demo.stdoutBytes);
    expect(r.code, r.stderr).toBe(0);
    expect(await snapshotTree(dest)).toEqual({
      'copied.txt': '0640 hello from llb\n',
      'second.txt': '0600 second\n',
    });
  });

  test('FROM a registry image with RUN stages and a secret: pushed, and the same image kilnctl builds', async () => {
    const ctx = await writeContext(path.join(work, 'run-ctx'), runDockerfile(base));
    const secret = path.join(work, 'token');
    await writeFile(secret, 's3cret\n');
    const flags = (name: string, meta: string) => [
      'build',
      '--frontend',
      'dockerfile.v0',
      '--local',
      `context=${ctx}`,
      '--local',
      `dockerfile=${ctx}`,
      '--secret',
      `id=token,src=${secret}`,
      '--output',
      `type=image,name=${name},push=true`,
      '--metadata-file',
      meta,
    ];
    const bkName = `${registry.host}/interop/bk:latest`;
    const bkMeta = path.join(work, 'bk-meta.json');
    const r = await bk(flags(bkName, bkMeta));
    expect(r.code, r.stderr).toBe(0);
    const bkResponse = JSON.parse(await readFile(bkMeta, 'utf8')) as Record<string, string>;
    expect(bkResponse['containerimage.digest']).toMatch(/^sha256:[0-9a-f]{64}$/);

    const ctlName = `${registry.host}/interop/ctl:latest`;
    const ctlMeta = path.join(work, 'ctl-meta.json');
    const c = await kilnctl(['--addr', kilnd.addr, ...flags(ctlName, ctlMeta)]);
    expect(c.code, c.stderr).toBe(0);

    type Inspect = { Digest: string; Layers: string[] };
    const inspect = (name: string) =>
      JSON.parse(sh('skopeo', ['inspect', '--tls-verify=false', `docker://${name}`])) as Inspect;
    const config = (name: string) =>
      JSON.parse(sh('skopeo', ['inspect', '--config', '--tls-verify=false', `docker://${name}`])) as {
        config: { Cmd: string[]; Env: string[] };
      };
    const bkImage = inspect(bkName);
    expect(bkImage.Digest).toBe(bkResponse['containerimage.digest']);
    expect(bkImage.Layers).toEqual(inspect(ctlName).Layers);
    expect(config(bkName).config).toEqual(config(ctlName).config);
    expect(config(bkName).config.Cmd).toEqual(['cat', '/base.txt', '/one.txt', '/two.txt']);

    // The files the RUN steps wrote, the secret's content among them (read in its step only).
    const tar = path.join(work, 'run.tar');
    const t = await bk([...flags(bkName, bkMeta).slice(0, -4), '--output', `type=tar,dest=${tar}`]);
    expect(t.code, t.stderr).toBe(0);
    const tree = await snapshotTar(tar);
    expect(tree['base.txt']).toBe('0644 base\n');
    expect(tree['one.txt']).toBe('0644 s3cret\n');
    expect(tree['two.txt']).toBe('0644 two\n0\n');
    expect(tree['run/secrets/token']).toBeUndefined();
  });
});

describe("kilnctl against docker.io's embedded BuildKit (v0.8)", () => {
  let dockerd: TestDockerd;
  let buildkit: BuildkitSocket;
  let kilnd: Kilnd;
  let registry: TestRegistry;
  let base: string;
  let work: string;
  const ctl = (addr: string, args: string[]) => kilnctl(['--addr', addr, ...args]);

  beforeAll(async () => {
    dockerd = await startDockerd();
    buildkit = await dockerBuildkitSocket(dockerd.socket);
    registry = await startRegistry();
    base = (await pushBusyboxImage(registry.host)).ref;
    kilnd = await startKilnd();
    work = await tempDir('interop-docker');
  }, 300_000);
  afterAll(async () => {
    await buildkit?.close();
    await dockerd?.stop();
    await kilnd?.stop();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('debug workers lists the moby worker', async () => {
    const r = await ctl(buildkit.addr, ['debug', 'workers']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^moby\s+linux\/amd64/m);
  });

  test('a three-stage FROM-scratch build gives the same files and tar as kilnd', async () => {
    const flags = fixtureFlags('Dockerfile.buildkit08');
    const fromBuildkit = path.join(work, 'bk-out');
    const fromKilnd = path.join(work, 'kiln-out');
    const r = await ctl(buildkit.addr, ['build', ...flags, '--output', `type=local,dest=${fromBuildkit}`]);
    expect(r.code, r.stderr).toBe(0);
    const k = await ctl(kilnd.addr, ['build', ...flags, '--output', `type=local,dest=${fromKilnd}`]);
    expect(k.code, k.stderr).toBe(0);
    const tree = await snapshotTree(fromBuildkit);
    expect(tree).toEqual({
      'out/': 'dir 0755',
      'out/data/': 'dir 0755',
      'out/data/one.txt': '0644 one\n',
      'out/data/sub/': 'dir 0755',
      'out/data/sub/two.txt': '0644 two\n',
      'out/greeting-hi.txt': '0600 one\n',
      'out/tools/': 'dir 0755',
      'out/tools/run.sh': '0755 #!/bin/sh\necho run\n',
    });
    expect(await snapshotTree(fromKilnd)).toEqual(tree);

    const tar = path.join(work, 'bk.tar');
    const t = await ctl(buildkit.addr, ['build', ...flags, '--output', `type=tar,dest=${tar}`]);
    expect(t.code, t.stderr).toBe(0);
    expect(await snapshotTar(tar)).toEqual(tree);
  });

  test('FROM a registry image, RUN stages and a secret served by kilnctl', async () => {
    const ctx = await writeContext(path.join(work, 'run-ctx'), runDockerfile(base));
    const secret = path.join(work, 'token');
    await writeFile(secret, 'from-kilnctl\n');
    const tar = path.join(work, 'run.tar');
    const r = await ctl(buildkit.addr, [
      'build',
      '--frontend',
      'dockerfile.v0',
      '--local',
      `context=${ctx}`,
      '--local',
      `dockerfile=${ctx}`,
      '--secret',
      `id=token,src=${secret}`,
      // dockerd here runs with --bridge=none: RUN steps use the host's network, as
      // `docker build --network host` asks for.
      '--opt',
      'force-network-mode=host',
      '--allow',
      'network.host',
      '--output',
      `type=tar,dest=${tar}`,
      '--progress',
      'plain',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const tree = await snapshotTar(tar);
    expect(tree['one.txt']).toBe('0644 from-kilnctl\n');
    expect(tree['two.txt']).toBe('0644 two\n0\n');
  });
});
