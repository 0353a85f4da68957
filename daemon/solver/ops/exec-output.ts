import type { OpProgress } from '../types.js';

/** BuildKit's default per-step log limit (util/progress/logs). */
export const STEP_LOG_LIMIT = 2 * 1024 * 1024;
const TAIL_BYTES = 16 * 1024;

/**
 * Forwards a step's stdout/stderr to progress up to a byte limit, then notes the clipping once, and
 * keeps the last bytes so a failure can quote the end of the output.
 */
export class StepOutput {
  private sent = 0;
  private clipped = false;
  private tail: Buffer = Buffer.alloc(0);

  constructor(
    private readonly progress: OpProgress,
    private readonly limit = STEP_LOG_LIMIT,
  ) {}

  write(stream: 1 | 2, chunk: Uint8Array): void {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.tail = Buffer.concat([this.tail, buf]);
    if (this.tail.length > TAIL_BYTES) this.tail = this.tail.subarray(this.tail.length - TAIL_BYTES);
    if (this.clipped) return;
    const room = this.limit - this.sent;
    if (buf.length <= room) {
      this.sent += buf.length;
      this.progress.log(stream, buf);
      return;
    }
    if (room > 0) this.progress.log(stream, buf.subarray(0, room));
    this.sent = this.limit;
    this.clipped = true;
    this.progress.log(
      2,
      Buffer.from(`\n[output clipped, log limit ${Math.round(this.limit / 1024 / 1024)}MiB reached]\n`),
    );
  }

  /** The last `n` non-empty lines of the combined output. */
  lastLines(n = 10): string[] {
    const lines = this.tail
      .toString('utf8')
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '');
    return lines.slice(-n);
  }
}
