/**
 * A queue between a message source (a grpc-js call, the messages read off an HTTP/2 stream, the
 * daemon's session call) and its reader, with flow control: used by kilnctl's and kilnd's session
 * calls alike.
 */

/** Who takes messages as they come: each one, then the end or an error. */
export interface MessageSink {
  message(m: Uint8Array): void;
  end(): void;
  error(err: unknown): void;
}

/** Where a MessageQueue's messages come from, and how it is held back. */
export interface MessageSource {
  /** Starts delivering to `sink`. */
  start(sink: MessageSink): void;
  pause(): void;
  resume(): void;
  isPaused(): boolean;
}

/**
 * Messages queued for a reader that takes them one at a time (the iterator: a read() and a
 * promise per message showed at tens of thousands of small fsutil packets), a batch at a time, or
 * as they arrive (listen). Several loops may read in turn; leaving one neither loses messages nor
 * ends the call.
 */
export class MessageQueue {
  private readonly queue: Uint8Array[] = [];
  private head = 0;
  private queuedBytes = 0;
  private wake: (() => void) | undefined;
  private ended = false;
  private error: unknown;
  private started = false;
  /** Set: messages go to it as they arrive, not into the queue. */
  private listener: MessageSink | undefined;
  private settled = false;

  constructor(
    private readonly source: MessageSource,
    /** Past these, the source is paused (HTTP/2 flow control pushes back); below half, resumed. */
    private readonly limits: { readonly messages: number; readonly bytes: number } = {
      messages: 4096,
      bytes: 8 * 1024 * 1024,
    },
  ) {}

  /** Starts the source now rather than at the first read. */
  open(): void {
    this.start();
  }

  /**
   * Hands every message (those queued first) to `listener` as it arrives, then the end or the
   * error; undefined goes back to queueing for the iterator.
   */
  listen(listener: MessageSink | undefined): void {
    this.listener = listener;
    if (listener === undefined) return;
    this.start();
    while (this.listener === listener && this.head < this.queue.length) {
      const m = this.queue[this.head++]!;
      this.queuedBytes -= m.byteLength;
      listener.message(m);
    }
    this.compact();
    if (this.source.isPaused()) this.source.resume();
    if (this.listener === listener) this.settle();
  }

  /** Every queued message, waiting for one; undefined at the end. */
  async nextBatch(): Promise<Uint8Array[] | undefined> {
    if (!(await this.ready())) return undefined;
    const batch = this.queue.slice(this.head);
    this.head = this.queue.length;
    this.queuedBytes = 0;
    this.taken();
    return batch;
  }

  iterator(): AsyncIterator<Uint8Array> {
    const next = async (): Promise<IteratorResult<Uint8Array>> => {
      if (!(await this.ready())) return { done: true, value: undefined };
      const m = this.queue[this.head++]!;
      this.queuedBytes -= m.byteLength;
      this.taken();
      return { done: false, value: m };
    };
    return { next, return: async () => ({ done: true, value: undefined }) };
  }

  /** Waits for a message: true when one is queued, false at the end. */
  private async ready(): Promise<boolean> {
    this.start();
    for (;;) {
      if (this.head < this.queue.length) return true;
      if (this.error !== undefined) throw this.error;
      if (this.ended) return false;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** Messages were taken: drop them, and let the source go on below half the limits. */
  private taken(): void {
    this.compact();
    if (
      this.source.isPaused() &&
      this.queue.length - this.head < this.limits.messages / 2 &&
      this.queuedBytes < this.limits.bytes / 2
    )
      this.source.resume();
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head >= 1024) {
      // Consumed messages must not stay referenced while the queue never quite empties.
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Tells the listener of the end or the error, once. */
  private settle(): void {
    const l = this.listener;
    if (l === undefined || this.settled) return;
    if (this.error !== undefined) {
      this.settled = true;
      l.error(this.error);
    } else if (this.ended) {
      this.settled = true;
      l.end();
    }
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.source.start({
      message: (m) => {
        if (this.listener !== undefined) {
          this.listener.message(m);
          return;
        }
        this.queue.push(m);
        this.queuedBytes += m.byteLength;
        if (this.queue.length - this.head >= this.limits.messages || this.queuedBytes >= this.limits.bytes)
          this.source.pause();
        this.poke();
      },
      end: () => {
        this.ended = true;
        this.poke();
        this.settle();
      },
      error: (err) => {
        this.error ??= err;
        this.poke();
        this.settle();
      },
    });
  }
}
