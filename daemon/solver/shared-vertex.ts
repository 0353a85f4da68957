import { createHash } from 'node:crypto';
import { throwIfAborted } from '../../proto/errors.js';
import { VertexError } from './errors.js';
import { Flight } from './flight.js';
import type { ProgressEvent, ProgressSink, StatusEvent, VertexEvent } from './progress-types.js';
import type { CacheMap, ImmutableRef, OpContext, ResolvedOp, ResultCache, Vertex } from './types.js';

/** What a shared vertex needs from the solver that owns it. */
export interface SolverContext {
  readonly cache: ResultCache;
  readonly resolveOp: (vertex: Vertex) => ResolvedOp;
  /** Runs fn inside a max-parallelism slot; slots are held only while an op executes. */
  limit<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T>;
  /** The first live edge that computed this cache key, so equal keys are solved once. */
  keyOwner(key: string): KeyOwner | undefined;
  claimKey(key: string, owner: KeyOwner): void;
  releaseKey(key: string, owner: KeyOwner): void;
}

export interface KeyOwner {
  readonly vertex: SharedVertex;
  readonly index: number;
}

/** A job as a vertex sees it: who to tell about progress, which sessions to use. */
export interface VertexSubscriber {
  readonly sessionIds: readonly string[];
  readonly sink: ProgressSink;
}

export interface SolvedResult {
  /** Owned by the shared vertex; callers take a clone before yielding. */
  readonly ref: ImmutableRef;
  readonly cached: boolean;
}

export interface SharedInput {
  readonly vertex: SharedVertex;
  readonly index: number;
}

type KeyPart =
  | { readonly key: string; readonly selector: string }
  | { readonly content: string; readonly selector: string }
  | { readonly fresh: string; readonly selector: string };

/**
 * One vertex digest loaded by one or more jobs. Everything it computes (cache map, cache keys,
 * exec outputs, per-output results) is computed once and shared until the last job lets go.
 */
export class SharedVertex {
  readonly vertex: Vertex;
  readonly inputs: readonly SharedInput[];
  readonly #ctx: SolverContext;
  readonly #subscribers: VertexSubscriber[] = [];
  readonly #log: ProgressEvent[] = [];
  readonly #statuses = new Map<string, StatusEvent>();
  readonly #keyFlights = new Map<number, Flight<string>>();
  readonly #resultFlights = new Map<number, Flight<SolvedResult>>();
  readonly #claimedKeys = new Map<string, number>();
  readonly #cacheMap: Flight<CacheMap>;
  readonly #exec: Flight<ImmutableRef[]>;
  #op: ResolvedOp | undefined;
  /** When the running exec started, so a drop can mark it canceled for the jobs still reading. */
  #execStarted: number | undefined;
  #dropped = false;
  #reportedCached = false;

  constructor(vertex: Vertex, inputs: readonly SharedInput[], ctx: SolverContext) {
    this.vertex = vertex;
    this.inputs = inputs;
    this.#ctx = ctx;
    this.#cacheMap = new Flight((signal) => this.#computeCacheMap(signal), { memoize: true });
    this.#exec = new Flight((signal) => this.#computeExec(signal), {
      memoize: true,
      orphan: (refs) => void releaseAll(refs).catch(() => undefined),
    });
  }

  get dropped(): boolean {
    return this.#dropped;
  }

  get subscriberCount(): number {
    return this.#subscribers.length;
  }

  attach(subscriber: VertexSubscriber): void {
    if (this.#subscribers.includes(subscriber)) return;
    this.#subscribers.push(subscriber);
    for (const event of this.#log) subscriber.sink.write(event);
  }

  /** Returns true when nobody is left and the vertex should be dropped. */
  detach(subscriber: VertexSubscriber): boolean {
    const i = this.#subscribers.indexOf(subscriber);
    if (i < 0) return this.#subscribers.length === 0;
    if (this.#subscribers.length === 1 && this.#execStarted !== undefined) {
      // The last reader leaves while the op runs: tell it the op is being canceled.
      this.#emitVertex({
        cached: false,
        started: this.#execStarted,
        completed: Date.now(),
        error: 'canceled',
      });
      this.#execStarted = undefined;
    }
    this.#subscribers.splice(i, 1);
    return this.#subscribers.length === 0;
  }

  /** Aborts what still runs and releases every result this vertex holds. */
  async drop(reason: Error): Promise<void> {
    this.#dropped = true;
    for (const [key, index] of this.#claimedKeys) this.#ctx.releaseKey(key, { vertex: this, index });
    this.#claimedKeys.clear();
    const held: ImmutableRef[] = [];
    const outputs = this.#exec.peek();
    if (outputs) held.push(...outputs);
    this.#exec.reset(reason);
    for (const flight of this.#resultFlights.values()) {
      const result = flight.peek();
      if (result) held.push(result.ref);
      flight.reset(reason);
    }
    for (const flight of this.#keyFlights.values()) flight.reset(reason);
    this.#cacheMap.reset(reason);
    await releaseAll(held);
  }

  cacheMap(signal: AbortSignal): Promise<CacheMap> {
    return this.#cacheMap.get(signal);
  }

  cacheKey(index: number, signal: AbortSignal): Promise<string> {
    let flight = this.#keyFlights.get(index);
    if (!flight) {
      flight = new Flight((s) => this.#computeKey(index, s), { memoize: true });
      this.#keyFlights.set(index, flight);
    }
    return flight.get(signal);
  }

  /** The result of one output; the returned ref belongs to this vertex (clone it before yielding). */
  result(index: number, signal: AbortSignal): Promise<SolvedResult> {
    let flight = this.#resultFlights.get(index);
    if (!flight) {
      flight = new Flight((s) => this.#computeResult(index, s), {
        memoize: true,
        orphan: (r) => void r.ref.release().catch(() => undefined),
      });
      this.#resultFlights.set(index, flight);
    }
    return flight.get(signal);
  }

  async #computeCacheMap(signal: AbortSignal): Promise<CacheMap> {
    try {
      return await this.#resolvedOp().cacheMap(this.#context(signal));
    } catch (err) {
      throw this.#failed(err, signal, undefined);
    }
  }

  async #computeKey(index: number, signal: AbortSignal): Promise<string> {
    const cacheMap = await this.cacheMap(signal);
    const parts = await Promise.all(
      this.inputs.map(async (input, i): Promise<KeyPart> => {
        const dep = cacheMap.deps[i];
        const selector = dep?.selector ?? '';
        const contentKey = dep?.contentKey;
        if (contentKey === undefined && !input.vertex.vertex.ignoreCache) {
          return { key: await input.vertex.cacheKey(input.index, signal), selector };
        }
        const solved = await input.vertex.result(input.index, signal);
        throwIfAborted(signal);
        // Clone: the input vertex may be dropped while the content checksum runs.
        const ref = solved.ref.clone();
        try {
          if (contentKey === undefined) return { fresh: ref.snapshot.id, selector };
          try {
            return { content: await contentKey(ref, signal), selector };
          } catch (err) {
            throw this.#failed(err, signal, undefined);
          }
        } finally {
          await ref.release();
        }
      }),
    );
    const material = JSON.stringify({ digest: cacheMap.digest, output: index, deps: parts });
    const key = `sha256:${createHash('sha256').update(material).digest('hex')}`;
    await this.#reportCachedIfStored(key, signal);
    return key;
  }

  /**
   * A vertex whose key is only needed for a dependant's key is never loaded when the dependant hits
   * the cache; BuildKit still shows it as CACHED, so a repeated build reports every step.
   */
  async #reportCachedIfStored(key: string, signal: AbortSignal): Promise<void> {
    if (this.vertex.ignoreCache || this.#reportedCached) return;
    const hit = await this.#ctx.cache.load(key, signal).catch(() => undefined);
    if (!hit) return;
    await hit.release();
    if (this.#reportedCached) return;
    this.#reportedCached = true;
    const now = Date.now();
    this.#emitVertex({ cached: true, started: now, completed: now });
  }

  async #computeResult(index: number, signal: AbortSignal): Promise<SolvedResult> {
    const executed = this.#exec.peek();
    if (executed) return { ref: this.#output(executed, index).clone(), cached: false };
    const key = await this.cacheKey(index, signal);
    if (!this.vertex.ignoreCache) {
      const owner = this.#ctx.keyOwner(key);
      if (owner && !(owner.vertex === this && owner.index === index) && !owner.vertex.dropped) {
        try {
          const joined = Date.now();
          const shared = await owner.vertex.result(owner.index, signal);
          throwIfAborted(signal);
          if (!owner.vertex.dropped) {
            // Our jobs may not have loaded the owner: show this vertex as done, like BuildKit's merged edges.
            this.#emitVertex({ cached: shared.cached, started: joined, completed: Date.now() });
            return { ref: shared.ref.clone(), cached: shared.cached };
          }
        } catch (err) {
          // The owner's jobs all went away mid-flight: solve it here instead of failing our job.
          if (signal.aborted || !owner.vertex.dropped) throw err;
        }
      }
    }
    if (!this.#claimedKeys.has(key) && this.#ctx.keyOwner(key) === undefined) {
      this.#claimedKeys.set(key, index);
      this.#ctx.claimKey(key, { vertex: this, index });
    }
    if (!this.vertex.ignoreCache) {
      const now = Date.now();
      let hit: ImmutableRef | undefined;
      try {
        hit = await this.#ctx.cache.load(key, signal);
      } catch (err) {
        throw this.#failed(err, signal, now);
      }
      if (hit) {
        if (signal.aborted) {
          await hit.release();
          throwIfAborted(signal);
        }
        if (!this.#reportedCached) {
          this.#reportedCached = true;
          this.#emitVertex({ cached: true, started: now, completed: Date.now() });
        }
        return { ref: hit, cached: true };
      }
    }
    const outputs = await this.#exec.get(signal);
    throwIfAborted(signal);
    return { ref: this.#output(outputs, index).clone(), cached: false };
  }

  async #computeExec(signal: AbortSignal): Promise<ImmutableRef[]> {
    const settled = await Promise.allSettled(
      this.inputs.map(async (input) => {
        const solved = await input.vertex.result(input.index, signal);
        throwIfAborted(signal);
        return solved.ref.clone();
      }),
    );
    const inputs: ImmutableRef[] = [];
    let failure: { reason: unknown } | undefined;
    for (const s of settled) {
      if (s.status === 'fulfilled') inputs.push(s.value);
      else failure ??= { reason: s.reason };
    }
    try {
      if (failure) throw failure.reason;
      let started: number | undefined;
      let outputs: ImmutableRef[];
      try {
        outputs = await this.#ctx.limit(async () => {
          started = Date.now();
          this.#execStarted = started;
          this.#emitVertex({ cached: false, started });
          try {
            return await this.#resolvedOp().exec(this.#context(signal), inputs);
          } finally {
            this.#execStarted = undefined;
          }
        }, signal);
      } catch (err) {
        throw this.#failed(err, signal, started);
      }
      try {
        if (outputs.length === 0) throw new Error('op returned no outputs');
        for (let j = 0; j < outputs.length; j++) {
          const out = outputs[j];
          if (out === undefined) continue;
          await this.#ctx.cache.save(await this.cacheKey(j, signal), out, signal);
        }
      } catch (err) {
        await releaseAll(outputs);
        throw this.#failed(err, signal, started);
      }
      this.#emitVertex({
        cached: false,
        ...(started === undefined ? {} : { started }),
        completed: Date.now(),
      });
      return outputs;
    } finally {
      await releaseAll(inputs);
    }
  }

  #output(outputs: readonly ImmutableRef[], index: number): ImmutableRef {
    const ref = outputs[index];
    if (ref === undefined) {
      throw new VertexError(
        this.vertex,
        new Error(`op has ${outputs.length} output(s), output ${index} was requested`),
      );
    }
    return ref;
  }

  #resolvedOp(): ResolvedOp {
    this.#op ??= this.#ctx.resolveOp(this.vertex);
    return this.#op;
  }

  /** Marks the vertex failed (once) and wraps an op's own error so dependants name this vertex. */
  #failed(err: unknown, signal: AbortSignal, started: number | undefined): unknown {
    if (err instanceof VertexError) return err;
    const now = Date.now();
    if (signal.aborted) {
      if (started !== undefined)
        this.#emitVertex({ cached: false, started, completed: now, error: 'canceled' });
      return err;
    }
    const wrapped = new VertexError(this.vertex, err);
    const message = err instanceof Error ? err.message : String(err);
    this.#emitVertex({ cached: false, started: started ?? now, completed: now, error: message });
    return wrapped;
  }

  #context(signal: AbortSignal): OpContext {
    const sessionIds = [...new Set(this.#subscribers.flatMap((s) => s.sessionIds))];
    return {
      signal,
      sessionIds,
      progress: {
        status: (id, update) => this.#status(id, update),
        log: (stream, data) =>
          this.#emit({ kind: 'log', vertex: this.vertex.digest, stream, data, timestamp: Date.now() }),
      },
    };
  }

  #status(id: string, update: { current?: number; total?: number; completed?: boolean }): void {
    const now = Date.now();
    const prev = this.#statuses.get(id);
    const event: StatusEvent = {
      kind: 'status',
      vertex: this.vertex.digest,
      id,
      name: id,
      current: update.current ?? prev?.current ?? 0,
      total: update.total ?? prev?.total ?? 0,
      timestamp: now,
      started: prev?.started ?? now,
      ...(update.completed ? { completed: now } : {}),
    };
    this.#statuses.set(id, event);
    this.#emit(event);
  }

  #emitVertex(
    fields: Pick<VertexEvent, 'cached'> & Partial<Pick<VertexEvent, 'started' | 'completed' | 'error'>>,
  ): void {
    this.#emit({
      kind: 'vertex',
      digest: this.vertex.digest,
      name: this.vertex.name,
      inputs: this.vertex.inputs.map((e) => e.vertex.digest),
      ...fields,
    });
  }

  #emit(event: ProgressEvent): void {
    if (this.#dropped) return;
    this.#log.push(event);
    for (const s of this.#subscribers) s.sink.write(event);
  }
}

async function releaseAll(refs: readonly ImmutableRef[]): Promise<void> {
  const results = await Promise.allSettled(refs.map((r) => r.release()));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}
