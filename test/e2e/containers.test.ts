import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pushBusyboxImage } from '../support/base-image.js';
import { startDockerd } from '../support/dockerd.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { dockerfileBuildArgs, kilnctl, type Kilnd, startKilnd, tempDir } from './harness.js';

/** Vertex intervals (ms) by name, from `--progress rawjson` output. */
function vertexTimes(rawjson: string): Map<string, { started: number; completed: number }> {
  const out = new Map<string, { started: number; completed: number }>();
  for (const line of rawjson.split('\n')) {
    if (!line.startsWith('{')) continue;
    const status = JSON.parse(line) as {
      vertexes?: { name?: string; started?: string; completed?: string }[];
    };
    for (const v of status.vertexes ?? []) {
      if (!v.name || !v.started || !v.completed) continue;
      out.set(v.name, { started: Date.parse(v.started), completed: Date.parse(v.completed) });
    }
  }
  return out;
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('containers and images: FROM a registry image, RUN under runc, image exporters', () => {
  let registry: TestRegistry;
  let kilnd: Kilnd;
  let work: string;
  let base: string;

  const dockerBuild = (ctx: string, output: string, extra: string[] = []) =>
    kilnctl([...dockerfileBuildArgs(kilnd.addr, ctx), '--output', output, ...extra]);

  async function context(
    name: string,
    dockerfile: string,
    files: Record<string, string> = {},
  ): Promise<string> {
    const dir = path.join(work, name);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'Dockerfile'), dockerfile.replaceAll('BASE', base));
    for (const [f, content] of Object.entries(files)) await writeFile(path.join(dir, f), content);
    return dir;
  }

  beforeAll(async () => {
    registry = await startRegistry();
    base = (await pushBusyboxImage(registry.host)).ref;
    work = await tempDir('containers');
    kilnd = await startKilnd();
  }, 120_000);
  afterAll(async () => {
    await kilnd?.stop();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('independent RUN stages overlap, the image is pushed, and standard tools accept it', async () => {
    const ctx = await context(
      'parallel',
      `FROM BASE AS base
RUN echo base > /base.txt

FROM base AS one
RUN sleep 1 && echo one > /one.txt

FROM base AS two
RUN sleep 1 && echo two > /two.txt

FROM base
COPY --from=one /one.txt /one.txt
COPY --from=two /two.txt /two.txt
CMD ["cat", "/base.txt", "/one.txt", "/two.txt"]
`,
    );
    const name = `${registry.host}/kiln/parallel:latest`;
    const meta = path.join(work, 'parallel-meta.json');
    const r = await dockerBuild(ctx, `type=image,name=${name},push=true`, [
      '--progress',
      'rawjson',
      '--metadata-file',
      meta,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const times = vertexTimes(r.stderr);
    const one = [...times].find(([n]) => n.includes('echo one'))?.[1];
    const two = [...times].find(([n]) => n.includes('echo two'))?.[1];
    expect(one && two, [...times.keys()].join('\n')).toBeTruthy();
    // Both ran at once: each started before the other completed.
    expect(one!.started).toBeLessThan(two!.completed);
    expect(two!.started).toBeLessThan(one!.completed);

    const response = JSON.parse(await readFile(meta, 'utf8')) as Record<string, unknown>;
    expect(response['containerimage.digest']).toMatch(/^sha256:/);
    const inspect = JSON.parse(sh('skopeo', ['inspect', '--tls-verify=false', `docker://${name}`])) as {
      Digest: string;
      Layers: string[];
    };
    expect(inspect.Digest).toBe(response['containerimage.digest']);

    // umoci unpacks it, and its Cmd run under runc prints what the Dockerfile says.
    const oci = path.join(work, 'parallel-oci');
    sh('skopeo', ['copy', '--src-tls-verify=false', `docker://${name}`, `oci:${oci}:latest`]);
    const bundle = path.join(work, 'parallel-bundle');
    sh('umoci', ['unpack', '--image', `${oci}:latest`, bundle]);
    const config = JSON.parse(await readFile(path.join(bundle, 'config.json'), 'utf8')) as {
      process: { terminal: boolean; args: string[] };
    };
    expect(config.process.args).toEqual(['cat', '/base.txt', '/one.txt', '/two.txt']);
    config.process.terminal = false;
    await writeFile(path.join(bundle, 'config.json'), JSON.stringify(config));
    const id = `kiln-e2e-${process.pid}`;
    try {
      expect(sh('runc', ['run', '--bundle', bundle, id])).toBe('base\none\ntwo\n');
    } finally {
      execFileSync('runc', ['delete', '--force', id], { stdio: 'ignore' });
    }
  });

  test('OCI and Docker tarballs are accepted by skopeo, and docker loads and runs the Docker one', async () => {
    const ctx = await context('tarballs', 'FROM BASE\nRUN echo hi > /hi\nCMD ["cat", "/hi"]\n');
    const ociTar = path.join(work, 'x.tar');
    const r1 = await dockerBuild(ctx, `type=oci,dest=${ociTar},name=kiln/x:1`);
    expect(r1.code, r1.stderr).toBe(0);
    expect(sh('skopeo', ['inspect', `oci-archive:${ociTar}`])).toMatch(/"Layers"/);
    const dockerTar = path.join(work, 'y.tar');
    const r2 = await dockerBuild(ctx, `type=docker,dest=${dockerTar},name=kiln/y:1`);
    expect(r2.code, r2.stderr).toBe(0);
    expect(sh('skopeo', ['inspect', `docker-archive:${dockerTar}`])).toMatch(/"Layers"/);

    // Debian's docker.io loads the Docker tarball and runs it.
    const dockerd = await startDockerd();
    try {
      expect(dockerd.docker(['load', '-i', dockerTar])).toMatch(/Loaded image: kiln\/y:1/);
      expect(dockerd.docker(['run', '--rm', '--network', 'none', 'kiln/y:1'])).toBe('hi\n');
    } finally {
      await dockerd.stop();
    }
  });

  test('cache mounts persist, secrets stay out of layers, --network=none leaves only lo', async () => {
    // The Dockerfile never spells the secret (history would carry it); the step checks its length.
    const secret = 'kiln-secret-value-7f3a9c';
    const ctx = await context(
      'mounts',
      `FROM BASE
RUN --mount=type=cache,target=/cache sh -c 'echo x >> /cache/log; wc -l < /cache/log > /count'
RUN --mount=type=secret,id=tok sh -c 'test "$(wc -c < /run/secrets/tok)" -eq ${secret.length} && echo ok > /secret-ok'
RUN --network=none ls /sys/class/net > /nets
RUN --mount=type=secret,id=tok,env=TOKEN sh -c 'test "\${#TOKEN}" -eq ${secret.length} && echo ok > /env-ok'
`,
    );
    const secretFile = path.join(work, 'tok.txt');
    await writeFile(secretFile, secret);
    const out1 = path.join(work, 'mounts-1');
    const args = ['--secret', `id=tok,src=${secretFile}`];
    const r1 = await dockerBuild(ctx, `type=local,dest=${out1}`, args);
    expect(r1.code, r1.stderr).toBe(0);
    expect(await readFile(path.join(out1, 'secret-ok'), 'utf8')).toBe('ok\n');
    expect((await readFile(path.join(out1, 'nets'), 'utf8')).trim()).toBe('lo');
    expect(await readFile(path.join(out1, 'env-ok'), 'utf8')).toBe('ok\n');
    const first = Number((await readFile(path.join(out1, 'count'), 'utf8')).trim());
    const out2 = path.join(work, 'mounts-2');
    const r2 = await dockerBuild(ctx, `type=local,dest=${out2}`, [...args, '--no-cache']);
    expect(r2.code, r2.stderr).toBe(0);
    expect(Number((await readFile(path.join(out2, 'count'), 'utf8')).trim())).toBe(first + 1);

    // The secret is in no exported layer and nowhere under the daemon's state.
    const ociTar = path.join(work, 'mounts.tar');
    const r3 = await dockerBuild(ctx, `type=oci,dest=${ociTar}`, args);
    expect(r3.code, r3.stderr).toBe(0);
    const unpacked = path.join(work, 'mounts-unpacked');
    await mkdir(unpacked);
    sh('tar', ['-xf', ociTar, '-C', unpacked]);
    for (const blob of await readdir(path.join(unpacked, 'blobs/sha256'))) {
      const bytes = await readFile(path.join(unpacked, 'blobs/sha256', blob));
      const text = blob.length > 0 ? tryGunzip(bytes) : bytes;
      expect(text.includes(Buffer.from(secret)), `secret found in blob ${blob}`).toBe(false);
    }
    expect(grepDir(kilnd.root, secret)).toEqual([]);
  });

  test('--ssh forwards an agent socket into RUN --mount=type=ssh', async () => {
    const agentDir = await tempDir('agent');
    const agentSock = path.join(agentDir, 'agent.sock');
    // A stand-in agent: the step only checks that a socket is there and that it connects.
    const agent = net.createServer((c) => c.end()).listen(agentSock);
    try {
      const ctx = await context(
        'ssh',
        'FROM BASE\nRUN --mount=type=ssh sh -c \'test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" > /ssh-sock\'\n',
      );
      const out = path.join(work, 'ssh-out');
      const r = await dockerBuild(ctx, `type=local,dest=${out}`, ['--ssh', `default=${agentSock}`]);
      expect(r.code, r.stderr).toBe(0);
      expect(await readFile(path.join(out, 'ssh-sock'), 'utf8')).toMatch(/^\/run\/buildkit\/ssh_agent\.0\n$/);
    } finally {
      agent.close();
      await rm(agentDir, { recursive: true, force: true });
    }
  });

  test('bad input: a missing image, a failing RUN and an unknown USER name the Dockerfile line', async () => {
    const missing = await context(
      'missing',
      `FROM ${'${REG}'}/nope/nothing:1\n`.replace('${REG}', registry.host),
    );
    const r1 = await dockerBuild(missing, 'type=local,dest=' + path.join(work, 'o1'), [
      '--progress',
      'plain',
    ]);
    expect(r1.code).not.toBe(0);
    expect(r1.stderr).toMatch(/Dockerfile:1/);
    expect(r1.stderr).toMatch(/not found/);

    const failing = await context('failing', 'FROM BASE\nRUN echo about to fail && exit 3\n');
    const r2 = await dockerBuild(failing, 'type=local,dest=' + path.join(work, 'o2'), [
      '--progress',
      'plain',
    ]);
    expect(r2.code).not.toBe(0);
    expect(r2.stderr).toMatch(/exit code: 3/);
    expect(r2.stderr).toMatch(/echo about to fail && exit 3/);
    expect(r2.stderr).toMatch(/about to fail/);

    const user = await context('user', 'FROM BASE\nUSER nosuchuser\nRUN true\n');
    const r3 = await dockerBuild(user, 'type=local,dest=' + path.join(work, 'o3'), ['--progress', 'plain']);
    expect(r3.code).not.toBe(0);
    expect(r3.stderr).toMatch(/nosuchuser/);

    const ok = await kilnctl(['--addr', kilnd.addr, 'debug', 'workers']);
    expect(ok.code, ok.stderr).toBe(0);
  });

  test('20 builds in a row leave no mount, container or process behind', async () => {
    const ctx = await context('repeat', 'FROM BASE\nARG N\nRUN echo run $N > /n && sleep 0.1\n');
    for (let i = 0; i < 20; i++) {
      const r = await dockerBuild(ctx, 'type=local,dest=' + path.join(work, `rep-${i}`), [
        '--opt',
        `build-arg:N=${i}`,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(await readFile(path.join(work, `rep-${i}`, 'n'), 'utf8')).toBe(`run ${i}\n`);
    }
    const mounts = await readFile('/proc/self/mounts', 'utf8');
    expect(mounts.split('\n').filter((l) => l.includes(kilnd.root))).toEqual([]);
    expect(sh('runc', ['--root', path.join(kilnd.root, 'runc'), 'list', '-q']).trim()).toBe('');
    const procs = sh('ps', ['-eo', 'args'])
      .split('\n')
      .filter((l) => l.includes(path.join(kilnd.root, 'runc')));
    expect(procs).toEqual([]);
  }, 300_000);
});

function tryGunzip(bytes: Buffer): Buffer {
  try {
    return execFileSync('gzip', ['-dc'], { input: bytes });
  } catch {
    return bytes;
  }
}

function grepDir(dir: string, needle: string): string[] {
  try {
    return execFileSync('grep', ['-rlF', needle, dir], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
