import { randomBytes } from 'node:crypto';
import type { DefinitionBytes, FrontendResult } from '../../frontends/types.js';
import { CanceledError, InvalidArgumentError, NotFoundError } from '../../proto/errors.js';
import type { Job } from '../solver/job.js';
import { checkEntitlements, type Entitlement } from './entitlements.js';
import type { Edge, ImmutableRef } from '../solver/types.js';

/** A result handed to a frontend (LLBBridge `Ref.id`): solved only when someone reads or exports it. */
export class LazyResult {
  readonly id: string;
  readonly definition: DefinitionBytes;
  readonly #edge: Edge;
  readonly #job: Job;
  #ref: Promise<ImmutableRef> | undefined;

  constructor(id: string, definition: DefinitionBytes, edge: Edge, job: Job) {
    this.id = id;
    this.definition = definition;
    this.#edge = edge;
    this.#job = job;
  }

  /** The solved ref, owned by this result (released with the build): clone it to keep it longer. */
  materialize(signal: AbortSignal): Promise<ImmutableRef> {
    this.#ref ??= this.#job.solve(this.#edge, signal);
    return this.#ref;
  }

  async release(): Promise<void> {
    const pending = this.#ref;
    this.#ref = undefined;
    if (!pending) return;
    try {
      await (await pending).release();
    } catch {
      // A failed solve holds nothing.
    }
  }
}

/** What the gateway returns for the build: a ref id (or none) and the result metadata. */
export interface GatewayOutcome {
  readonly refId: string | undefined;
  readonly metadata: Readonly<Record<string, Uint8Array>>;
}

/**
 * One Control.Solve in flight: its job, the results its frontend created, and the outcome the
 * client's gateway returns (LLBBridge.Return) when the frontend runs in the client, as buildctl's does.
 */
export class Build implements AsyncDisposable {
  readonly ref: string;
  readonly sessionId: string;
  readonly job: Job;
  readonly signal: AbortSignal;
  readonly #results = new Map<string, LazyResult>();
  readonly #returned: Promise<GatewayOutcome>;
  #settle!: { resolve: (o: GatewayOutcome) => void; reject: (e: unknown) => void };
  #settled = false;

  /** What this build's RUN steps may use (see entitlements.ts). */
  readonly entitlements: ReadonlySet<Entitlement>;

  constructor(
    ref: string,
    sessionId: string,
    job: Job,
    signal: AbortSignal,
    entitlements: ReadonlySet<Entitlement> = new Set(),
  ) {
    this.entitlements = entitlements;
    this.ref = ref;
    this.sessionId = sessionId;
    this.job = job;
    this.signal = signal;
    this.#returned = new Promise<GatewayOutcome>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    // Nobody may await it when the frontend runs in the daemon.
    this.#returned.catch(() => {});
    const onAbort = () =>
      this.fail(new CanceledError(`build ${ref} canceled`, { cause: signal.reason as unknown }));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }

  addResult(definition: DefinitionBytes, edge: Edge): LazyResult {
    checkEntitlements(edge, this.entitlements);
    const id = randomBytes(16).toString('hex');
    const result = new LazyResult(id, definition, edge, this.job);
    this.#results.set(id, result);
    return result;
  }

  result(id: string): LazyResult {
    const r = this.#results.get(id);
    if (!r) throw new NotFoundError(`no such result ref ${JSON.stringify(id)} in build ${this.ref}`);
    return r;
  }

  /** LLBBridge.Return with a result. */
  complete(outcome: GatewayOutcome): void {
    if (outcome.refId !== undefined && !this.#results.has(outcome.refId)) {
      throw new InvalidArgumentError(
        `returned ref ${JSON.stringify(outcome.refId)} was not created by this build`,
      );
    }
    if (this.#settled) throw new InvalidArgumentError(`build ${this.ref} already returned a result`);
    this.#settled = true;
    this.#settle.resolve(outcome);
  }

  /** LLBBridge.Return with an error, or a cancel. */
  fail(err: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#settle.reject(err);
  }

  /** Waits for the client's gateway to return. */
  returned(): Promise<GatewayOutcome> {
    return this.#returned;
  }

  fromFrontend(result: FrontendResult): GatewayOutcome {
    return { refId: result.ref?.id, metadata: result.metadata };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.fail(new CanceledError(`build ${this.ref} finished without a result`));
    await Promise.allSettled([...this.#results.values()].map((r) => r.release()));
    this.#results.clear();
    await this.job.close();
  }
}
