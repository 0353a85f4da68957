import { KilnError } from '../../proto/errors.js';
import { AlreadyExistsError } from './errors.js';
import { Job, type JobHost, type JobOptions } from './job.js';
import { Limiter } from './limiter.js';
import { type KeyOwner, SharedVertex, type SolverContext, type VertexSubscriber } from './shared-vertex.js';
import type { ResolvedOp, ResultCache, Vertex } from './types.js';

export interface SolverOptions {
  readonly resolveOp: (vertex: Vertex) => ResolvedOp;
  readonly cache: ResultCache;
  /** Ops executing at once (BuildKit's max-parallelism); unlimited when absent. */
  readonly maxParallelism?: number;
}

/**
 * The shared graph: vertices loaded by live jobs, keyed by digest, so concurrent builds of the same
 * vertex (or of vertices that reach the same cache key) do the work once.
 */
export class Solver {
  readonly #resolveOp: (vertex: Vertex) => ResolvedOp;
  readonly #cache: ResultCache;
  readonly #limiter: Limiter;
  readonly #actives = new Map<string, SharedVertex>();
  readonly #keyOwners = new Map<string, KeyOwner>();
  readonly #jobs = new Map<string, Job>();
  readonly #ctx: SolverContext;
  readonly #host: JobHost;

  constructor(opts: SolverOptions) {
    this.#resolveOp = opts.resolveOp;
    this.#cache = opts.cache;
    this.#limiter = new Limiter(opts.maxParallelism ?? 0);
    this.#ctx = {
      cache: this.#cache,
      resolveOp: this.#resolveOp,
      limit: (fn, signal) => this.#limiter.run(fn, signal),
      keyOwner: (key) => this.#keyOwners.get(key),
      claimKey: (key, owner) => {
        if (!this.#keyOwners.has(key)) this.#keyOwners.set(key, owner);
      },
      releaseKey: (key, owner) => {
        const current = this.#keyOwners.get(key);
        if (current && current.vertex === owner.vertex && current.index === owner.index)
          this.#keyOwners.delete(key);
      },
    };
    this.#host = {
      load: (job, vertex, loaded) => this.#load(job, vertex, loaded),
      unload: (job, vertices, reason) => this.#unload(job, vertices, reason),
      forget: (job) => {
        if (this.#jobs.get(job.id) === job) this.#jobs.delete(job.id);
      },
    };
  }

  newJob(opts: JobOptions): Job {
    const existing = this.#jobs.get(opts.id);
    if (existing && !existing.closed) throw new AlreadyExistsError(`job ${opts.id} already exists`);
    const job = new Job(this.#host, opts);
    if (!job.closed) this.#jobs.set(opts.id, job);
    return job;
  }

  /** A live job by id (the Status call looks its job up by the build ref). */
  getJob(id: string): Job | undefined {
    return this.#jobs.get(id);
  }

  /** Vertices currently loaded by some job (for tests and debugging). */
  get activeVertexCount(): number {
    return this.#actives.size;
  }

  #load(job: VertexSubscriber, vertex: Vertex, loaded: Map<string, SharedVertex>): SharedVertex {
    // An ignore-cache vertex must not share state with its cached twin, or one would see the
    // other's cache hit; BuildKit keys it apart the same way.
    const id = vertex.ignoreCache ? `${vertex.digest}-ignorecache` : vertex.digest;
    const mine = loaded.get(id);
    if (mine) return mine;
    let shared = this.#actives.get(id);
    if (!shared) {
      const inputs = vertex.inputs.map((edge) => ({
        vertex: this.#load(job, edge.vertex, loaded),
        index: edge.index,
      }));
      shared = new SharedVertex(vertex, inputs, this.#ctx);
      this.#actives.set(id, shared);
    } else {
      for (const edge of vertex.inputs) this.#load(job, edge.vertex, loaded);
    }
    shared.attach(job);
    loaded.set(id, shared);
    return shared;
  }

  async #unload(job: VertexSubscriber, vertices: Iterable<SharedVertex>, reason: Error): Promise<void> {
    const drops: Promise<void>[] = [];
    for (const shared of vertices) {
      if (!shared.detach(job)) continue;
      const id = shared.vertex.ignoreCache ? `${shared.vertex.digest}-ignorecache` : shared.vertex.digest;
      if (this.#actives.get(id) === shared) this.#actives.delete(id);
      drops.push(shared.drop(reason));
    }
    const results = await Promise.allSettled(drops);
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0) {
      throw new KilnError('INTERNAL', 'releasing results of a closed job failed', {
        cause: failed.map((f) => f.reason),
      });
    }
  }
}
