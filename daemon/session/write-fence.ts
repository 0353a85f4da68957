/**
 * Runs callbacks once the writes started before them have completed: how the session transport
 * knows a buffer is no longer referenced (a buffer's memory is reused once released). Writes must
 * complete in the order they started, as a stream's do.
 */
export class WriteFence {
  private started = 0;
  private completed = 0;
  private readonly waiting: { readonly mark: number; readonly cb: () => void }[] = [];

  /** A write starts. */
  start(): void {
    this.started++;
  }

  /** The oldest write still pending completed (whether it succeeded or not). */
  complete(): void {
    this.completed++;
    while (this.waiting.length > 0 && this.waiting[0]!.mark <= this.completed) this.waiting.shift()!.cb();
  }

  /** Runs `cb` once every write started so far has completed: now, if none is pending. */
  after(cb: () => void): void {
    if (this.completed < this.started) this.waiting.push({ mark: this.started, cb });
    else cb();
  }
}
