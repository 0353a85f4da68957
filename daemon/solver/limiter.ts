import { throwIfAborted } from '../../proto/errors.js';

/**
 * Max-parallelism slots. Unlike p-queue's signal option, an abort only removes a task that is still
 * waiting for a slot: a running op keeps its slot until it really returns, so the bound holds and its
 * outputs are never lost to a race.
 */
export class Limiter {
  readonly #max: number;
  #running = 0;
  readonly #waiting: { readonly start: () => void }[] = [];

  constructor(max: number) {
    this.#max = max > 0 ? max : Number.POSITIVE_INFINITY;
  }

  async run<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
    throwIfAborted(signal);
    if (this.#running >= this.#max) await this.#wait(signal);
    else this.#running++;
    try {
      return await fn();
    } finally {
      this.#running--;
      this.#next();
    }
  }

  #wait(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry = {
        start: (): void => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        const i = this.#waiting.indexOf(entry);
        if (i >= 0) this.#waiting.splice(i, 1);
        try {
          throwIfAborted(signal);
        } catch (err) {
          reject(err);
        }
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(entry);
    });
  }

  #next(): void {
    while (this.#running < this.#max) {
      const entry = this.#waiting.shift();
      if (!entry) return;
      this.#running++;
      entry.start();
    }
  }
}
