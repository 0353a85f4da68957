import { CanceledError, NotFoundError } from '../../proto/errors.js';

/**
 * A map whose readers can wait, for a bounded time, for a key to be set: builds register under
 * their ref while the client's Status and LLBBridge calls may already be arriving.
 */
export class WaitableMap<V> {
  readonly #entries = new Map<string, V>();
  readonly #waiters = new Map<string, Set<(v: V) => void>>();

  set(key: string, value: V): void {
    this.#entries.set(key, value);
    const waiters = this.#waiters.get(key);
    if (waiters) {
      this.#waiters.delete(key);
      for (const w of waiters) w(value);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  get(key: string): V | undefined {
    return this.#entries.get(key);
  }

  values(): IterableIterator<V> {
    return this.#entries.values();
  }

  /** Resolves when `key` is set, or fails after `timeoutMs` with NotFoundError `what`. */
  wait(key: string, timeoutMs: number, signal: AbortSignal, what: string): Promise<V> {
    const existing = this.#entries.get(key);
    if (existing !== undefined) return Promise.resolve(existing);
    return new Promise<V>((resolve, reject) => {
      let waiters = this.#waiters.get(key);
      if (!waiters) {
        waiters = new Set();
        this.#waiters.set(key, waiters);
      }
      const set = waiters;
      const cleanup = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        set.delete(done);
        if (set.size === 0 && this.#waiters.get(key) === set) this.#waiters.delete(key);
      };
      const done = (v: V) => {
        cleanup();
        resolve(v);
      };
      const onAbort = () => {
        cleanup();
        reject(new CanceledError(`canceled while waiting for ${what}`, { cause: signal.reason }));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new NotFoundError(`no such ${what}: ${key}`));
      }, timeoutMs);
      set.add(done);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
