import { describe, expect, it } from 'vitest';
import { dumpDefinition } from '../../client/llb/dump.js';
import { createFrontends } from '../../frontends/index.js';
import type { DefinitionBytes, FileStat, FrontendBridge, ResultRef } from '../../frontends/types.js';
import { NotFoundError, UnimplementedError } from '../../proto/errors.js';
import { fakeDigest, fakeImageConfigs } from './fake-images.js';

type Files = Record<string, Record<string, string>>;

interface SourceOpDump {
  source?: { identifier: string; attrs?: Record<string, string> };
}

/** An in-memory LLBBridge: refs name the local a definition reads; files come from a map per local. */
class FakeBridge implements FrontendBridge {
  readonly resolved: string[] = [];

  async resolveImageConfig(
    ref: string,
    opts: { platform?: { os: string; architecture: string }; resolveMode?: string },
  ): Promise<{ digest: string; config: Uint8Array }> {
    const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
    this.resolved.push(`${ref} ${platform.os}/${platform.architecture} ${opts.resolveMode ?? ''}`);
    const config = fakeImageConfigs[ref];
    if (config === undefined) throw new NotFoundError(`${ref}: not found`);
    return { digest: fakeDigest(ref, platform), config: new TextEncoder().encode(JSON.stringify(config)) };
  }

  readonly sessionId = 'sess-1';
  readonly solves: DefinitionBytes[] = [];
  readonly warnings: string[] = [];
  readonly #files: Files;
  #next = 0;
  readonly #localOf = new Map<string, string | undefined>();

  constructor(files: Files) {
    this.#files = files;
  }

  async solve(req: { definition: DefinitionBytes }): Promise<ResultRef> {
    this.solves.push(req.definition);
    const ops = dumpDefinition(req.definition).map((o) => o.op as SourceOpDump);
    const id = `ref-${this.#next++}`;
    const locals = ops.filter((o) => o.source?.identifier.startsWith('local://'));
    this.#localOf.set(
      id,
      ops.length === 2 ? locals[0]?.source?.identifier.slice('local://'.length) : undefined,
    );
    return { id };
  }

  async readFile(ref: ResultRef, path: string): Promise<Uint8Array> {
    const name = this.#localOf.get(ref.id);
    const content = name === undefined ? undefined : this.#files[name]?.[path];
    if (content === undefined) throw new NotFoundError(`${path}: not found`);
    return new TextEncoder().encode(content);
  }

  async statFile(): Promise<FileStat> {
    throw new NotFoundError('not used');
  }

  async readDir(): Promise<FileStat[]> {
    return [];
  }

  warn(w: { short: string }): void {
    this.warnings.push(w.short);
  }
}

const frontend = () => {
  const f = createFrontends().get('dockerfile.v0');
  if (!f) throw new Error('dockerfile.v0 not registered');
  return f;
};

const contextSource = (def: DefinitionBytes) =>
  dumpDefinition(def)
    .map((o) => o.op as SourceOpDump)
    .find((o) => o.source?.identifier === 'local://context')?.source;

describe('dockerfile.v0 frontend', () => {
  it('loads the Dockerfile and .dockerignore, converts, solves and returns the image config', async () => {
    const bridge = new FakeBridge({
      dockerfile: { Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\nCMD ["/a"]\n' },
      context: { '.dockerignore': '# comment\n*.log\nnode_modules\n' },
    });
    const res = await frontend().solve(bridge, { 'label:x': 'y' }, new AbortController().signal);
    expect(bridge.solves).toHaveLength(3);
    const [dfDef, ignoreDef, buildDef] = bridge.solves;
    const dfSource = dumpDefinition(dfDef as DefinitionBytes)[0]?.op as SourceOpDump;
    expect(dfSource.source).toEqual({
      identifier: 'local://dockerfile',
      attrs: {
        'local.differ': 'none',
        'local.followpaths': '["Dockerfile","Dockerfile.dockerignore","dockerfile"]',
        'local.session': 'sess-1',
        'local.sharedkeyhint': 'dockerfile',
      },
    });
    expect(contextSource(ignoreDef as DefinitionBytes)?.attrs?.['local.followpaths']).toBe(
      '[".dockerignore"]',
    );
    expect(contextSource(buildDef as DefinitionBytes)?.attrs).toEqual({
      'local.excludepatterns': '["*.log","node_modules"]',
      'local.followpaths': '["a.txt"]',
      'local.session': 'sess-1',
      'local.sharedkeyhint': 'context',
    });
    expect(res.ref).toEqual({ id: 'ref-2' });
    const config = JSON.parse(new TextDecoder().decode(res.metadata['containerimage.config'])) as {
      config: { Cmd: string[]; Labels: Record<string, string> };
      architecture: string;
      os: string;
      history: { created_by: string }[];
    };
    expect(config.config.Cmd).toEqual(['/a']);
    expect(config.config.Labels).toEqual({ x: 'y' });
    expect([config.os, config.architecture]).toEqual(['linux', 'amd64']);
    expect(config.history.map((h) => h.created_by)).toEqual(['COPY a.txt /a.txt # buildkit', 'CMD ["/a"]']);
  });

  it('prefers <Dockerfile>.dockerignore and honours filename, target and build args', async () => {
    const bridge = new FakeBridge({
      dockerfile: {
        'app.Dockerfile':
          'ARG F=x\nFROM scratch AS one\nARG F\nCOPY $F /\nFROM scratch AS two\nCOPY other /\n',
        'app.Dockerfile.dockerignore': 'specific\n',
      },
      context: { '.dockerignore': 'general\n' },
    });
    await frontend().solve(
      bridge,
      { filename: 'app.Dockerfile', target: 'one', 'build-arg:F': 'chosen' },
      new AbortController().signal,
    );
    const attrs = contextSource(bridge.solves[2] as DefinitionBytes)?.attrs;
    expect(attrs?.['local.excludepatterns']).toBe('["specific"]');
    expect(attrs?.['local.followpaths']).toBe('["chosen"]');
  });

  it('rejects gateway frontends named by # syntax, but serves docker/dockerfile itself', async () => {
    const other = new FakeBridge({
      dockerfile: { Dockerfile: '# syntax=example.com/my/frontend\nFROM scratch\n' },
    });
    await expect(frontend().solve(other, {}, new AbortController().signal)).rejects.toThrow(
      UnimplementedError,
    );
    await expect(frontend().solve(other, {}, new AbortController().signal)).rejects.toThrow(
      'gateway frontends are not supported yet',
    );
    const own = new FakeBridge({
      dockerfile: { Dockerfile: '# syntax=docker/dockerfile:1\nFROM scratch\nCOPY a /\n' },
    });
    const res = await frontend().solve(own, {}, new AbortController().signal);
    expect(res.ref).toBeDefined();
  });

  it('reports a missing Dockerfile and passes conversion errors through', async () => {
    const none = new FakeBridge({});
    await expect(frontend().solve(none, {}, new AbortController().signal)).rejects.toThrow(
      'failed to read dockerfile: Dockerfile',
    );
    const run = new FakeBridge({ dockerfile: { Dockerfile: 'FROM scratch\nRUN --network=bridge true\n' } });
    await expect(frontend().solve(run, {}, new AbortController().signal)).rejects.toThrow(
      'unsupported network mode "bridge"',
    );
    const missing = new FakeBridge({ dockerfile: { Dockerfile: 'FROM nope:1\n' } });
    await expect(frontend().solve(missing, {}, new AbortController().signal)).rejects.toThrow(
      'Dockerfile:1: FROM nope:1: docker.io/library/nope:1: not found',
    );
  });

  it('resolves each base image once through the bridge, with platform and resolve mode', async () => {
    const bridge = new FakeBridge({
      dockerfile: {
        Dockerfile:
          'FROM alpine:3.18 AS a\nRUN echo a > /a\nFROM alpine:3.18 AS b\nRUN echo b > /b\n' +
          'FROM --platform=linux/arm64 busybox\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n',
      },
    });
    const res = await frontend().solve(
      bridge,
      { 'image-resolve-mode': 'pull', platform: 'linux/amd64' },
      new AbortController().signal,
    );
    expect(bridge.resolved.sort()).toEqual([
      'docker.io/library/alpine:3.18 linux/amd64 pull',
      'docker.io/library/busybox:latest linux/arm64 pull',
    ]);
    const sources = dumpDefinition(bridge.solves[2] as DefinitionBytes)
      .map((o) => o.op as SourceOpDump & { platform?: { Architecture: string } })
      .filter((o) => o.source?.identifier.startsWith('docker-image://'));
    expect(sources.map((s) => [s.source?.identifier, s.source?.attrs, s.platform?.Architecture])).toEqual([
      [
        `docker-image://docker.io/library/busybox:latest@${fakeDigest('docker.io/library/busybox:latest', { os: 'linux', architecture: 'arm64' })}`,
        { 'image.resolvemode': 'pull' },
        'arm64',
      ],
      [
        `docker-image://docker.io/library/alpine:3.18@${fakeDigest('docker.io/library/alpine:3.18', { os: 'linux', architecture: 'amd64' })}`,
        { 'image.resolvemode': 'pull' },
        'amd64',
      ],
    ]);
    const config = JSON.parse(new TextDecoder().decode(res.metadata['containerimage.config'])) as {
      config: { Cmd: string[] };
      history: { created_by: string; empty_layer?: boolean }[];
    };
    expect(config.config.Cmd).toEqual(['sh']);
    expect(config.history.map((h) => h.created_by)).toEqual([
      'BusyBox 1.36.1 (glibc), Debian 12',
      'COPY /a /a # buildkit',
      'COPY /b /b # buildkit',
    ]);
  });

  it('applies force-network-mode and hostname to RUN; refuses unknown modes', async () => {
    const bridge = new FakeBridge({
      dockerfile: { Dockerfile: 'FROM alpine:3.18\nRUN true\nRUN --network=host true\n' },
    });
    await frontend().solve(
      bridge,
      { 'force-network-mode': 'none', hostname: 'builder-1' },
      new AbortController().signal,
    );
    const execs = dumpDefinition(bridge.solves[2] as DefinitionBytes)
      .map((o) => o.op as { exec?: { network?: number; meta: { hostname?: string } } })
      .filter((o) => o.exec);
    expect(execs.map((o) => [o.exec?.network, o.exec?.meta.hostname])).toEqual([
      [2, 'builder-1'],
      [1, 'builder-1'],
    ]);
    await expect(
      frontend().solve(bridge, { 'image-resolve-mode': 'sometimes' }, new AbortController().signal),
    ).rejects.toThrow('invalid image-resolve-mode: sometimes');
    await expect(
      frontend().solve(bridge, { 'force-network-mode': 'bridge' }, new AbortController().signal),
    ).rejects.toThrow('invalid force-network-mode: bridge');
  });

  it('returns no ref for an all-scratch result', async () => {
    const bridge = new FakeBridge({ dockerfile: { Dockerfile: 'FROM scratch\nENV A=1\n' } });
    const res = await frontend().solve(bridge, {}, new AbortController().signal);
    expect(res.ref).toBeUndefined();
    expect(res.metadata['containerimage.config']).toBeDefined();
  });
});
