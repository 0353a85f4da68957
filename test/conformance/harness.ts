/**
 * Conformance harness: builds one Dockerfile with Kiln and with docker's own BuildKit (Debian's
 * docker.io, a private dockerd) and compares what comes out.
 *
 *   const env = await ConformanceEnv.start(signal);      // registry + busybox base, dockerd, kilnd
 *   const c = await loadCase(fixturesDir, 'copy-chown-chmod');
 *   const r = await env.run(c, signal);                   // both builds, both snapshots
 *   diffTrees(r.kiln.tree, r.docker.tree); diffConfig(r.kiln.facts, r.docker.facts);
 *   await env.stop();
 *
 * A case is a folder `test/fixtures/conformance/<case>/`: a Dockerfile, context files, and an
 * optional `case.json` (see CaseSpec; it is not part of the build context). In the Dockerfile,
 * `{{BASE}}` stands for the test busybox image and `{{REGISTRY}}` for the test registry's host.
 *
 * Kiln's image goes through `--output type=docker` and `docker load` into the same dockerd, so both
 * images are read by the same `docker create` + `docker export` and `docker image inspect`.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { dockerfileBuildArgs, kilnctl, type Kilnd, startKilnd, tempDir } from '../e2e/harness.js';
import { pushBusyboxImage } from '../support/base-image.js';
import { dockerBinary, startDockerd, type TestDockerd } from '../support/dockerd.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import type { ConfigField, ImageFacts } from './image-facts.js';
import { parseImageFacts } from './image-facts.js';
import { readTree, type Tree, type TreeEntry } from './tree.js';

const execFileAsync = promisify(execFile);

export type Aspect = 'filesystem' | 'config' | 'history';
/** What a case's tests check: that Kiln builds it at all, then each compared aspect. */
export type TestAspect = 'build' | Aspect;

/** One expected path in a Kiln-only case; unset members are not checked. */
export interface ExpectedEntry {
  readonly type?: TreeEntry['type'];
  /** Octal, as a string: "0755". */
  readonly mode?: string;
  readonly uid?: number;
  readonly gid?: number;
  readonly linkname?: string;
  /** Exact file content. */
  readonly content?: string;
}

export interface CaseSpec {
  readonly buildArgs?: Readonly<Record<string, string>>;
  /**
   * The build must fail, with this text in Kiln's error (BuildKit 0.11's wording); docker's
   * BuildKit only has to fail too, its wording differs.
   */
  readonly expectError?: string;
  readonly target?: string;
  /**
   * Why docker 20.10's BuildKit cannot build this case; when set, Kiln's result is checked against
   * `expect` alone.
   */
  readonly kilnOnly?: string;
  readonly expect?: {
    /** Path (absolute) → what it must be; `null` means it must not exist. */
    readonly files?: Readonly<Record<string, ExpectedEntry | null>>;
    readonly config?: Readonly<Partial<Record<ConfigField, unknown>>>;
  };
  /**
   * Differences from docker's BuildKit that are Kiln's bugs (Kiln differs from BuildKit 0.11 too),
   * per aspect: `diffs` are the exact difference lines. Those aspects run as `test.fails`: green
   * while exactly these differences remain, red once Kiln is fixed (then drop the entry) or when
   * the differences change.
   */
  readonly knownDifferences?: Readonly<Partial<Record<TestAspect, KnownDifference>>>;
  /**
   * Differences where docker 20.10's BuildKit (0.8) is the odd one out and Kiln does what BuildKit
   * 0.11 (or its integration tests) does: subtracted from what is found, and each must still be
   * found, so the list stays true.
   */
  readonly dockerLegacy?: Readonly<Partial<Record<Aspect, KnownDifference>>>;
}

export interface KnownDifference {
  readonly reason: string;
  readonly diffs: readonly string[];
}

export interface ConformanceCase {
  readonly name: string;
  readonly dir: string;
  readonly spec: CaseSpec;
}

export interface BuiltImage {
  readonly ref: string;
  readonly tree: Tree;
  readonly facts: ImageFacts;
}

export interface CaseResult {
  readonly kiln: BuiltImage;
  /** Absent for Kiln-only cases. */
  readonly docker?: BuiltImage;
}

const specFile = 'case.json';

export async function listCases(fixturesDir: string): Promise<ConformanceCase[]> {
  const names = (await readdir(fixturesDir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  return Promise.all(names.map((n) => loadCase(fixturesDir, n)));
}

export async function loadCase(fixturesDir: string, name: string): Promise<ConformanceCase> {
  const dir = path.join(fixturesDir, name);
  let spec: CaseSpec = {};
  try {
    spec = JSON.parse(await readFile(path.join(dir, specFile), 'utf8')) as CaseSpec;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { name, dir, spec };
}

async function run(
  cmd: string,
  args: readonly string[],
  opts: { signal: AbortSignal; env?: NodeJS.ProcessEnv; what: string },
): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, [...args], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      signal: opts.signal,
      env: { ...process.env, ...opts.env },
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${opts.what} failed: ${e.message}\n${(e.stderr ?? '').slice(-6000)}`, { cause: err });
  }
}

export class ConformanceEnv {
  private containerSeq = 0;

  private constructor(
    private readonly registry: TestRegistry,
    private readonly dockerd: TestDockerd,
    private readonly dockerHost: string,
    private readonly kilnd: Kilnd,
    private readonly work: string,
    readonly baseRef: string,
  ) {}

  /** Starts one registry (with the busybox base pushed), one dockerd and one kilnd. */
  static async start(signal: AbortSignal): Promise<ConformanceEnv> {
    const cleanups: (() => Promise<unknown>)[] = [];
    try {
      const registry = await startRegistry();
      cleanups.push(() => registry.stop());
      const [base, dockerd, kilnd, work] = await Promise.all([
        pushBusyboxImage(registry.host, 'busybox', 'latest', { signal }),
        startDockerd().then((d) => {
          cleanups.push(() => d.stop());
          return d;
        }),
        startKilnd().then((k) => {
          cleanups.push(async () => {
            await k.stop();
            await rm(k.root, { recursive: true, force: true });
          });
          return k;
        }),
        tempDir('conformance').then((w) => {
          cleanups.push(() => rm(w, { recursive: true, force: true }));
          return w;
        }),
      ]);
      // The support helper hides its socket; it sits next to the data root it reports.
      const rootDir = dockerd.docker(['info', '--format', '{{.DockerRootDir}}']).trim();
      const dockerHost = `unix://${path.join(path.dirname(rootDir), 'docker.sock')}`;
      return new ConformanceEnv(registry, dockerd, dockerHost, kilnd, work, base.ref);
    } catch (err) {
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
      throw err;
    }
  }

  async stop(): Promise<void> {
    const errors: unknown[] = [];
    for (const step of [
      () => this.kilnd.stop(),
      () => rm(this.kilnd.root, { recursive: true, force: true }),
      () => this.dockerd.stop(),
      () => this.registry.stop(),
      () => rm(this.work, { recursive: true, force: true }),
    ]) {
      try {
        await step();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'conformance environment cleanup failed');
  }

  private docker(args: readonly string[], signal: AbortSignal, what: string, env?: NodeJS.ProcessEnv) {
    return run(dockerBinary, ['-H', this.dockerHost, ...args], {
      signal,
      what,
      ...(env ? { env } : {}),
    });
  }

  /** Copies the case into a fresh build context with the placeholders filled in. */
  private async prepareContext(c: ConformanceCase, builder: string): Promise<string> {
    const ctx = path.join(this.work, `${c.name}-${builder}`);
    await rm(ctx, { recursive: true, force: true });
    await mkdir(ctx, { recursive: true });
    await cp(c.dir, ctx, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => path.relative(c.dir, src) !== specFile,
    });
    const dockerfile = path.join(ctx, 'Dockerfile');
    const text = (await readFile(dockerfile, 'utf8'))
      .replaceAll('{{BASE}}', this.baseRef)
      .replaceAll('{{REGISTRY}}', this.registry.host);
    await writeFile(dockerfile, text);
    return ctx;
  }

  async buildKiln(c: ConformanceCase, signal: AbortSignal): Promise<string> {
    const ctx = await this.prepareContext(c, 'kiln');
    const ref = `kiln-conformance/${c.name}:kiln`;
    const tarball = path.join(this.work, `${c.name}-kiln.tar`);
    const opts = Object.entries(c.spec.buildArgs ?? {}).flatMap(([k, v]) => ['--opt', `build-arg:${k}=${v}`]);
    if (c.spec.target !== undefined) opts.push('--opt', `target=${c.spec.target}`);
    const r = await kilnctl([
      ...dockerfileBuildArgs(this.kilnd.addr, ctx),
      ...opts,
      '--progress',
      'plain',
      '--output',
      `type=docker,dest=${tarball},name=${ref}`,
    ]);
    if (r.code !== 0)
      throw new Error(`kiln build of ${c.name} failed (${r.code}):\n${r.stderr.slice(-6000)}`);
    try {
      await this.docker(['load', '-i', tarball], signal, `docker load of Kiln's ${c.name}`);
    } finally {
      await rm(tarball, { force: true });
    }
    return ref;
  }

  async buildDocker(c: ConformanceCase, signal: AbortSignal): Promise<string> {
    const ctx = await this.prepareContext(c, 'docker');
    const ref = `docker-conformance/${c.name}:docker`;
    const args = ['build', '--network', 'host', '--progress', 'plain', '-t', ref];
    for (const [k, v] of Object.entries(c.spec.buildArgs ?? {})) args.push('--build-arg', `${k}=${v}`);
    if (c.spec.target !== undefined) args.push('--target', c.spec.target);
    args.push(ctx);
    await this.docker(args, signal, `docker build of ${c.name}`, { DOCKER_BUILDKIT: '1' });
    return ref;
  }

  /** Reads an image back: `docker create` + `docker export` for its files, inspect + history. */
  async snapshot(ref: string, signal: AbortSignal): Promise<BuiltImage> {
    const name = `conformance-${process.pid}-${++this.containerSeq}`;
    const exported = path.join(this.work, `${name}.tar`);
    // A dummy command: images with no CMD/ENTRYPOINT can still be created.
    await this.docker(
      ['create', '--name', name, '--network', 'none', ref, 'true'],
      signal,
      `docker create ${ref}`,
    );
    try {
      await this.docker(['export', '-o', exported, name], signal, `docker export ${ref}`);
      const tree = await readTree(exported, signal);
      const [inspect, history] = await Promise.all([
        this.docker(['image', 'inspect', ref], signal, `docker image inspect ${ref}`),
        this.docker(
          ['history', '--no-trunc', '--format', '{{json .}}', ref],
          signal,
          `docker history ${ref}`,
        ),
      ]);
      return { ref, tree, facts: parseImageFacts(inspect, history) };
    } finally {
      await this.docker(['rm', '-f', name], signal, `docker rm ${name}`).catch(() => undefined);
      await rm(exported, { force: true });
    }
  }

  /** For `expectError` cases: both builds, and how each one failed (undefined: it succeeded). */
  async runFailing(
    c: ConformanceCase,
    signal: AbortSignal,
  ): Promise<{ kiln: string | undefined; docker: string | undefined }> {
    const failure = (p: Promise<string>) =>
      p.then(
        () => undefined,
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      );
    const [kiln, docker] = await Promise.all([
      failure(this.buildKiln(c, signal)),
      failure(this.buildDocker(c, signal)),
    ]);
    return { kiln, docker };
  }

  /** Builds the case with both builders (in parallel) and reads both images back. */
  async run(c: ConformanceCase, signal: AbortSignal): Promise<CaseResult> {
    const [kilnRef, dockerRef] = await Promise.all([
      this.buildKiln(c, signal),
      c.spec.kilnOnly === undefined ? this.buildDocker(c, signal) : Promise.resolve(undefined),
    ]);
    const kiln = await this.snapshot(kilnRef, signal);
    if (dockerRef === undefined) return { kiln };
    return { kiln, docker: await this.snapshot(dockerRef, signal) };
  }
}

/** Differences between Kiln's result and a Kiln-only case's explicit expectations. */
export function checkExpected(spec: CaseSpec, kiln: BuiltImage): { filesystem: string[]; config: string[] } {
  const filesystem: string[] = [];
  for (const [p, want] of Object.entries(spec.expect?.files ?? {})) {
    const got = kiln.tree.get(p.replace(/^\/+/, ''));
    if (want === null) {
      if (got) filesystem.push(`${p}: expected absent, kiln has ${got.type}`);
      continue;
    }
    if (!got) {
      filesystem.push(`${p}: expected ${JSON.stringify(want)}, kiln has nothing`);
      continue;
    }
    const mismatch = (field: string, w: unknown, g: unknown) =>
      filesystem.push(`${p}: ${field} expected ${JSON.stringify(w)}, kiln ${JSON.stringify(g)}`);
    if (want.type !== undefined && want.type !== got.type) mismatch('type', want.type, got.type);
    if (want.mode !== undefined && parseInt(want.mode, 8) !== got.mode)
      mismatch('mode', want.mode, `0${got.mode.toString(8)}`);
    if (want.uid !== undefined && want.uid !== got.uid) mismatch('uid', want.uid, got.uid);
    if (want.gid !== undefined && want.gid !== got.gid) mismatch('gid', want.gid, got.gid);
    if (want.linkname !== undefined && want.linkname !== got.linkname)
      mismatch('linkname', want.linkname, got.linkname);
    if (want.content !== undefined && createHash('sha256').update(want.content).digest('hex') !== got.digest)
      mismatch('content', want.content, got.preview);
  }
  const config: string[] = [];
  for (const [field, want] of Object.entries(spec.expect?.config ?? {})) {
    const got = kiln.facts.config[field as ConfigField];
    if (JSON.stringify(want) !== JSON.stringify(got))
      config.push(`Config.${field}: expected ${JSON.stringify(want)}, kiln ${JSON.stringify(got)}`);
  }
  return { filesystem, config };
}
