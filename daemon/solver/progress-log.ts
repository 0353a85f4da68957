import type { ProgressEvent, ProgressSink } from './progress-types.js';

/**
 * A job's progress: an append-only log that every reader replays from the start (a Status call may
 * arrive after the build began) and that ends for all readers when the job closes.
 */
export class ProgressLog implements ProgressSink, AsyncIterable<ProgressEvent> {
  readonly #events: ProgressEvent[] = [];
  #closed = false;
  #wakers: (() => void)[] = [];

  write(event: ProgressEvent): void {
    if (this.#closed) return;
    this.#events.push(event);
    this.#wake();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake();
  }

  get closed(): boolean {
    return this.#closed;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ProgressEvent, void, undefined> {
    let next = 0;
    for (;;) {
      while (next < this.#events.length) {
        const event = this.#events[next++];
        if (event !== undefined) yield event;
      }
      if (this.#closed) return;
      await new Promise<void>((resolve) => this.#wakers.push(resolve));
    }
  }

  #wake(): void {
    const wakers = this.#wakers;
    this.#wakers = [];
    for (const wake of wakers) wake();
  }
}
