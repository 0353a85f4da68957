import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Bulk filesystem work runs as synchronous syscalls in bounded slices: each awaited fs call is a
 * libuv threadpool round trip (4 threads, shared with everything else), which made per-file work
 * on small files latency-bound. Synchronous calls are ~10× cheaper, but block the event loop, so
 * callers ask `due()` between units of work and `await pause()` when it says so: the daemon keeps
 * serving other calls every few milliseconds.
 */
export class TimeSlice {
  private start = performance.now();

  constructor(private readonly budgetMs = 4) {}

  /** Whether the current slice has used up its budget. */
  due(): boolean {
    return performance.now() - this.start >= this.budgetMs;
  }

  /** Yields to the event loop (timers, I/O) and starts a new slice. */
  async pause(): Promise<void> {
    await nextTurn();
    this.start = performance.now();
  }

  /** pause() only when the slice is used up. */
  async maybePause(): Promise<void> {
    if (this.due()) await this.pause();
  }
}
