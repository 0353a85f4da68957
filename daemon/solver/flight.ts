import { CanceledError } from '../../proto/errors.js';

/**
 * One computation shared by every concurrent caller (BuildKit's util/flightcontrol). Each caller
 * waits with its own signal; the computation is aborted only when every caller has given up, so one
 * job's cancel never cancels work another job still waits for.
 */
interface Running<T> {
  readonly controller: AbortController;
  readonly promise: Promise<T>;
  waiters: number;
}

type State<T> =
  | { readonly kind: 'idle' }
  | { readonly kind: 'running'; readonly run: Running<T> }
  | { readonly kind: 'done'; readonly value: T };

export interface FlightOptions<T> {
  /** Keep a successful value for later callers (errors are never kept: the next caller retries). */
  readonly memoize: boolean;
  /** Called with a value whose computation finished after every caller left, so it owns nothing. */
  readonly orphan?: (value: T) => void;
}

export class Flight<T> {
  readonly #fn: (signal: AbortSignal) => Promise<T>;
  readonly #opts: FlightOptions<T>;
  #state: State<T> = { kind: 'idle' };

  constructor(fn: (signal: AbortSignal) => Promise<T>, opts: FlightOptions<T>) {
    this.#fn = fn;
    this.#opts = opts;
  }

  /** The memoized value, if the computation already succeeded. */
  peek(): T | undefined {
    return this.#state.kind === 'done' ? this.#state.value : undefined;
  }

  get running(): boolean {
    return this.#state.kind === 'running';
  }

  get(signal: AbortSignal): Promise<T> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    const state = this.#state;
    if (state.kind === 'done') return Promise.resolve(state.value);
    const run = state.kind === 'running' ? state.run : this.#start();
    run.waiters++;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const leave = (): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        run.waiters--;
      };
      const onAbort = (): void => {
        if (settled) return;
        leave();
        if (run.waiters === 0) this.#abandon(run, signal.reason);
        reject(abortReason(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      run.promise.then(
        (value) => {
          if (settled) return;
          leave();
          resolve(value);
        },
        (err: unknown) => {
          if (settled) return;
          leave();
          reject(err);
        },
      );
    });
  }

  /** Aborts a running computation and forgets any memoized value (the caller disposes of it). */
  reset(reason: unknown): void {
    const state = this.#state;
    if (state.kind === 'running') this.#abandon(state.run, reason);
    this.#state = { kind: 'idle' };
  }

  #start(): Running<T> {
    const controller = new AbortController();
    const promise = Promise.resolve().then(() => this.#fn(controller.signal));
    const run: Running<T> = { controller, promise, waiters: 0 };
    this.#state = { kind: 'running', run };
    promise.then(
      (value) => {
        if (this.#state.kind === 'running' && this.#state.run === run) {
          this.#state = this.#opts.memoize ? { kind: 'done', value } : { kind: 'idle' };
        } else {
          this.#opts.orphan?.(value);
        }
      },
      () => {
        if (this.#state.kind === 'running' && this.#state.run === run) this.#state = { kind: 'idle' };
      },
    );
    return run;
  }

  #abandon(run: Running<T>, reason: unknown): void {
    if (this.#state.kind === 'running' && this.#state.run === run) this.#state = { kind: 'idle' };
    run.controller.abort(reason instanceof Error ? reason : new CanceledError(`canceled: ${String(reason)}`));
  }
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new CanceledError(`canceled: ${String(reason)}`);
}
