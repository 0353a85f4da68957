import { dumpDefinition } from '../../client/llb/dump.js';
import type { DefinitionBytes, FileStat, FrontendBridge, ResultRef } from '../../frontends/types.js';
import { NotFoundError } from '../../proto/errors.js';
import { fakeDigest, fakeImageConfigs } from '../dockerfile-convert/fake-images.js';

interface SourceOpDump {
  source?: { identifier: string; attrs?: Record<string, string> };
}

/** An in-memory LLBBridge: a ref names the local its definition reads; files come from a map per local. */
export class FakeBridge implements FrontendBridge {
  readonly sessionId = 'sess-1';
  readonly solves: DefinitionBytes[] = [];
  readonly resolved: string[] = [];
  readonly workerPlatforms = [{ os: 'linux', architecture: 'amd64' }];
  readonly #files: Record<string, Record<string, string>>;
  readonly #localOf = new Map<string, string | undefined>();
  #next = 0;

  constructor(files: Record<string, Record<string, string>>) {
    this.#files = files;
  }

  async resolveImageConfig(
    ref: string,
    opts: { platform?: { os: string; architecture: string }; resolveMode?: string },
  ): Promise<{ digest: string; config: Uint8Array }> {
    const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
    this.resolved.push(ref);
    const config = fakeImageConfigs[ref];
    if (config === undefined) throw new NotFoundError(`${ref}: not found`);
    return { digest: fakeDigest(ref, platform), config: new TextEncoder().encode(JSON.stringify(config)) };
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

  warn(): void {}
}
