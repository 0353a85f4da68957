import { describe, expect, it } from 'vitest';
import { dumpDefinition } from '../../client/llb/dump.js';
import { createFrontends } from '../../frontends/index.js';
import type { DefinitionBytes, FileStat, FrontendBridge, ResultRef } from '../../frontends/types.js';
import { NotFoundError, UnimplementedError } from '../../proto/errors.js';

type Files = Record<string, Record<string, string>>;

interface SourceOpDump {
  source?: { identifier: string; attrs?: Record<string, string> };
}

/** An in-memory LLBBridge: refs name the local a definition reads; files come from a map per local. */
class FakeBridge implements FrontendBridge {
  async resolveImageConfig(ref: string): Promise<{ digest: string; config: Uint8Array }> {
    throw new Error(`the fake bridge resolves no images (${ref})`);
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
    const run = new FakeBridge({ dockerfile: { Dockerfile: 'FROM scratch\nRUN true\n' } });
    await expect(frontend().solve(run, {}, new AbortController().signal)).rejects.toThrow(
      'Dockerfile:2: RUN is not supported yet',
    );
  });

  it('returns no ref for an all-scratch result', async () => {
    const bridge = new FakeBridge({ dockerfile: { Dockerfile: 'FROM scratch\nENV A=1\n' } });
    const res = await frontend().solve(bridge, {}, new AbortController().signal);
    expect(res.ref).toBeUndefined();
    expect(res.metadata['containerimage.config']).toBeDefined();
  });
});
