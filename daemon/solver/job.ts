import { CanceledError, throwIfAborted } from '../../proto/errors.js';
import { ProgressLog } from './progress-log.js';
import type { ProgressEvent } from './progress-types.js';
import type { SharedVertex, VertexSubscriber } from './shared-vertex.js';
import type { Edge, ImmutableRef, Vertex } from './types.js';

/** What a job needs from its solver: loading vertices into the shared graph and letting go of them. */
export interface JobHost {
  load(job: VertexSubscriber, vertex: Vertex, loaded: Map<string, SharedVertex>): SharedVertex;
  unload(job: VertexSubscriber, vertices: Iterable<SharedVertex>, reason: Error): Promise<void>;
  forget(job: Job): void;
}

export interface JobOptions {
  readonly id: string;
  readonly sessionIds: readonly string[];
  /** Aborting it cancels the job's work (what no other job waits for) and closes the job. */
  readonly signal: AbortSignal;
}

/**
 * One build request's view of the shared graph: the vertices it loaded, its progress, its lifetime.
 * Closing it releases everything it still holds; results it handed out belong to the caller.
 */
export class Job implements AsyncDisposable {
  readonly id: string;
  readonly sessionIds: readonly string[];
  readonly #host: JobHost;
  readonly #log = new ProgressLog();
  readonly #closer = new AbortController();
  readonly #signal: AbortSignal;
  readonly #loaded = new Map<string, SharedVertex>();
  readonly #subscriber: VertexSubscriber;
  #closing: Promise<void> | undefined;

  constructor(host: JobHost, opts: JobOptions) {
    this.id = opts.id;
    this.sessionIds = opts.sessionIds;
    this.#host = host;
    this.#signal = AbortSignal.any([opts.signal, this.#closer.signal]);
    this.#subscriber = { sessionIds: opts.sessionIds, sink: this.#log };
    if (opts.signal.aborted) void this.close();
    else opts.signal.addEventListener('abort', () => void this.close(), { once: true });
  }

  /** Every event since the job started, then live ones, until the job closes. */
  get progress(): AsyncIterable<ProgressEvent> {
    return this.#log;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Solves an edge; the caller owns (and must release) the returned ref. */
  async solve(edge: Edge, signal: AbortSignal): Promise<ImmutableRef> {
    const combined = AbortSignal.any([this.#signal, signal]);
    throwIfAborted(combined);
    const vertex = this.#host.load(this.#subscriber, edge.vertex, this.#loaded);
    const solved = await vertex.result(edge.index, combined);
    // Close may have dropped the vertex between its result and this continuation.
    throwIfAborted(combined);
    return solved.ref.clone();
  }

  /** Writes a progress event of the job's own (e.g. an exporter's synthetic vertex). */
  write(event: ProgressEvent): void {
    this.#log.write(event);
  }

  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #doClose(): Promise<void> {
    const reason = new CanceledError(`job ${this.id} closed`);
    this.#closer.abort(reason);
    try {
      await this.#host.unload(this.#subscriber, this.#loaded.values(), reason);
    } finally {
      this.#loaded.clear();
      this.#log.close();
      this.#host.forget(this);
    }
  }
}
