import { createHash } from 'node:crypto';
import type {
  CacheMap,
  Edge,
  ImmutableRef,
  OpContext,
  ResolvedOp,
  ResultCache,
  Vertex,
} from '../../daemon/solver/types.js';

/** Counts every handle handed out and released, so tests can prove nothing leaks. */
export class RefLedger {
  acquires = 0;
  releases = 0;
  readonly live = new Map<string, number>();
  doubleReleases = 0;

  make(snapshotId: string): ImmutableRef {
    this.acquires++;
    this.live.set(snapshotId, (this.live.get(snapshotId) ?? 0) + 1);
    let released = false;
    const ref: ImmutableRef = {
      id: snapshotId,
      snapshot: { id: snapshotId, dir: `/fake/${snapshotId}` },
      clone: () => {
        if (released) throw new Error(`clone of released ref ${snapshotId}`);
        return this.make(snapshotId);
      },
      release: async () => {
        if (released) {
          this.doubleReleases++;
          return;
        }
        released = true;
        this.releases++;
        this.live.set(snapshotId, (this.live.get(snapshotId) ?? 1) - 1);
      },
      [Symbol.asyncDispose]: () => ref.release(),
    };
    return ref;
  }

  get outstanding(): number {
    return this.acquires - this.releases;
  }
}

export class MemoryCache implements ResultCache {
  readonly entries = new Map<string, string>();
  loads = 0;
  constructor(private readonly ledger: RefLedger) {}
  async load(key: string): Promise<ImmutableRef | undefined> {
    this.loads++;
    const id = this.entries.get(key);
    return id === undefined ? undefined : this.ledger.make(id);
  }
  async save(key: string, ref: ImmutableRef): Promise<void> {
    this.entries.set(key, ref.snapshot.id);
  }
}

export interface FakeSpec {
  /** Resolves when the op may finish; default immediately. */
  gate?: () => Promise<void>;
  fail?: string;
  outputs?: number;
  /** Input indexes whose key is the content of the input (see Harness.content). */
  contentDeps?: readonly number[];
  selector?: string;
  /** Op ignores cancellation until its gate opens. */
  ignoreAbort?: boolean;
}

export interface FakeOp {
  readonly name: string;
  readonly spec: FakeSpec;
}

/** A graph of fake ops: each exec records start/end and makes new refs, no files involved. */
export class Harness {
  readonly ledger = new RefLedger();
  readonly cache = new MemoryCache(this.ledger);
  readonly timeline: string[] = [];
  readonly execCount = new Map<string, number>();
  readonly abortedOps: string[] = [];
  readonly sessionsSeen = new Map<string, readonly string[]>();
  /** Content of a snapshot produced by op `name`; contentKey deps hash this. */
  readonly content = new Map<string, string>();
  #serial = 0;

  vertex(
    name: string,
    inputs: readonly (Vertex | Edge)[] = [],
    spec: FakeSpec = {},
    ignoreCache = false,
  ): Vertex {
    const edges = inputs.map((i): Edge => ('vertex' in i ? i : { vertex: i, index: 0 }));
    const digest = `sha256:${createHash('sha256')
      .update(JSON.stringify([name, edges.map((e) => [e.vertex.digest, e.index])]))
      .digest('hex')}`;
    const op: FakeOp = { name, spec };
    return { digest, name, inputs: edges, ignoreCache, op };
  }

  resolveOp = (vertex: Vertex): ResolvedOp => {
    const { name, spec } = vertex.op as FakeOp;
    return {
      cacheMap: async (): Promise<CacheMap> => ({
        digest: `fake:${name}`,
        deps: vertex.inputs.map((_, i) => ({
          ...(spec.selector === undefined ? {} : { selector: spec.selector }),
          ...(spec.contentDeps?.includes(i)
            ? {
                contentKey: async (input: ImmutableRef): Promise<string> =>
                  `content:${this.content.get(input.snapshot.id.split('#')[0] ?? '') ?? ''}`,
              }
            : {}),
        })),
      }),
      exec: async (ctx: OpContext, inputs: readonly ImmutableRef[]): Promise<ImmutableRef[]> => {
        this.execCount.set(name, (this.execCount.get(name) ?? 0) + 1);
        this.sessionsSeen.set(name, ctx.sessionIds);
        this.timeline.push(`start:${name}`);
        ctx.progress.status(`step ${name}`, { current: 1, total: 2 });
        ctx.progress.log(1, new TextEncoder().encode(`hello from ${name}`));
        try {
          if (spec.gate) {
            const gate = spec.gate();
            if (spec.ignoreAbort) await gate;
            else await abortable(gate, ctx.signal);
          }
          await new Promise((r) => setTimeout(r, 1));
          if (!spec.ignoreAbort && ctx.signal.aborted) throw ctx.signal.reason;
          if (spec.fail !== undefined) throw new Error(spec.fail);
          for (const input of inputs) if (input.snapshot.id === '') throw new Error('bad input');
          const outs: ImmutableRef[] = [];
          for (let i = 0; i < (spec.outputs ?? 1); i++)
            outs.push(this.ledger.make(`${name}#${i}#${++this.#serial}`));
          return outs;
        } catch (err) {
          if (ctx.signal.aborted) this.abortedOps.push(name);
          throw err;
        } finally {
          ctx.progress.status(`step ${name}`, { current: 2, completed: true });
          this.timeline.push(`end:${name}`);
        }
      },
    };
  };
}

function abortable(p: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** A promise you open by hand, to hold an op mid-flight. */
export function gate(): { wait: () => Promise<void>; open: () => void } {
  let open!: () => void;
  const p = new Promise<void>((r) => {
    open = r;
  });
  return { wait: () => p, open };
}

export function edge(vertex: Vertex, index = 0): Edge {
  return { vertex, index };
}
