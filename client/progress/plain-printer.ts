import { formatBytes } from '../human-units.js';
import type { VertexStatus } from './solve-status.js';
import { secondsBetween, toMillis } from './solve-status.js';
import type { Trace, TraceVertex } from './trace.js';
import { isCanceledError } from './trace.js';

/** A vertex that has not been shown for this long gets the screen even if another is active. */
const maxDelayMs = 10_000;
/** Sub-task progress lines are repeated only after this much change in time or fraction. */
const minTimeDeltaMs = 5_000;
const minProgressDelta = 0.05;

interface LastStatus {
  readonly current: number;
  readonly timestampMs: number;
}

/**
 * buildctl's plain progress output: one block per vertex (`#N name`, sub-task lines, logs,
 * `#N DONE 0.1s` / `#N CACHED` / `#N ERROR: …`). When several vertices run at once, output stays with
 * the current one and switches with `#N ...` so the text remains readable.
 */
export class PlainPrinter {
  private current: string | undefined;
  private notFirst = false;
  private readonly last = new Map<string, LastStatus>();
  private readonly now: () => number;

  constructor(
    private readonly write: (text: string) => void,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  private printVertex(trace: Trace, digest: string): void {
    const tv = trace.byDigest.get(digest);
    if (tv === undefined) return;
    let out = '';
    if (digest !== this.current) {
      if (this.current !== undefined) {
        const old = trace.byDigest.get(this.current);
        if (old !== undefined) {
          if (old.logsPartial) out += '\n';
          old.logsOffset = 0;
          old.count = 0;
          out += `#${old.index} ...\n`;
        }
      }
      if (this.notFirst) out += '\n';
      else this.notFirst = true;
      out += `#${tv.index} ${tv.vertex.name}\n`;
    }
    for (const ev of tv.events) out += `#${tv.index} ${ev}\n`;
    tv.events.length = 0;

    for (const s of tv.statuses) {
      if (!tv.statusUpdates.has(s.id)) continue;
      const line = this.statusLine(tv, s);
      if (line !== undefined) out += line;
    }
    tv.statusUpdates.clear();

    tv.logs.forEach((full, i) => {
      const text = i === 0 ? full.slice(tv.logsOffset) : full;
      out += text;
      if (i !== tv.logs.length - 1 || !tv.logsPartial) out += '\n';
      // A partial first line continues the line already remembered for the summary.
      trace.rememberPrinted(tv, full, i === 0 && tv.logsOffset > 0);
    });
    if (tv.logs.length > 0) {
      if (tv.logsPartial) {
        const lastLine = tv.logs[tv.logs.length - 1] ?? '';
        tv.logs = [lastLine];
        tv.logsOffset = lastLine.length;
      } else {
        tv.logs = [];
        tv.logsOffset = 0;
      }
    }

    this.current = digest;
    const v = tv.vertex;
    if (v.completed !== undefined) {
      this.current = undefined;
      tv.count = 0;
      if (v.error !== '') {
        if (tv.logsPartial) out += '\n';
        out += isCanceledError(v.error) ? `#${tv.index} CANCELED\n` : `#${tv.index} ERROR: ${v.error}\n`;
      } else if (v.cached) {
        out += `#${tv.index} CACHED\n`;
      } else {
        const tm = v.started === undefined ? '' : ` ${secondsBetween(v.started, v.completed).toFixed(1)}s`;
        out += `#${tv.index} DONE${tm}\n`;
      }
    }
    trace.updates.delete(digest);
    if (out !== '') this.write(out);
  }

  private statusLine(tv: TraceVertex, s: VertexStatus): string | undefined {
    const tsMs = toMillis(s.timestamp);
    const last = this.last.get(s.id);
    if (last !== undefined && s.completed === undefined) {
      const progressDelta = s.total > 0 ? (s.current - last.current) / s.total : 0;
      if (progressDelta < minProgressDelta && tsMs - last.timestampMs < minTimeDeltaMs) return undefined;
    }
    this.last.set(s.id, { current: s.current, timestampMs: tsMs });
    let bytes = '';
    if (s.total !== 0) bytes = ` ${formatBytes(s.current)} / ${formatBytes(s.total)}`;
    else if (s.current !== 0) bytes = ` ${formatBytes(s.current)}`;
    let tm = '';
    const end = s.completed ?? s.timestamp;
    if (s.started !== undefined) {
      const diff = secondsBetween(s.started, end);
      if (diff > 0.01) tm = ` ${diff.toFixed(1)}s`;
    }
    if (s.completed !== undefined) tm += ' done';
    return `#${tv.index} ${s.id}${bytes}${tm}\n`;
  }

  /** Prints whatever the latest updates made visible. */
  print(trace: Trace): void {
    const completed: TraceVertex[] = [];
    const rest: TraceVertex[] = [];
    for (const digest of trace.updates) {
      const tv = trace.byDigest.get(digest);
      if (tv === undefined) continue;
      if (tv.vertex.completed !== undefined) completed.push(tv);
      else rest.push(tv);
    }
    const current = this.current;
    const byDigest = (d: string) => (t: TraceVertex) => t.vertex.digest === d;

    // Finished vertices go first so their result lines are never held back.
    if (current !== undefined && completed.some(byDigest(current))) this.printVertex(trace, current);
    completed.sort((a, b) => {
      const ac = a.vertex.completed;
      const bc = b.vertex.completed;
      const d = (ac ? toMillis(ac) : 0) - (bc ? toMillis(bc) : 0);
      return d !== 0 ? d : a.index - b.index;
    });
    for (const tv of completed) {
      if (tv.vertex.digest !== current) this.printVertex(trace, tv.vertex.digest);
    }

    if (rest.length === 0) {
      if (current !== undefined) {
        const v = trace.byDigest.get(current)?.vertex;
        if (v?.started !== undefined && v.completed === undefined) return;
      }
      // Make an open vertex active so the reader sees what is running.
      const open = trace.started.find(
        (t) => t.vertex.started !== undefined && t.vertex.completed === undefined,
      );
      if (open !== undefined && this.current === undefined) this.printVertex(trace, open.vertex.digest);
      return;
    }

    if (current !== undefined && rest.some(byDigest(current))) this.printVertex(trace, current);

    rest.sort((a, b) => a.index - b.index);
    if (this.current === undefined) {
      const first = rest[0];
      if (first !== undefined) this.printVertex(trace, first.vertex.digest);
      return;
    }
    const now = this.now();
    for (const tv of rest) {
      if (tv.vertex.digest === this.current) continue;
      if (tv.lastBlockTime !== undefined && now - tv.lastBlockTime > maxDelayMs) {
        this.printVertex(trace, tv.vertex.digest);
        return;
      }
    }
  }

  /** Flushes pending updates at the end of the stream, oldest vertex first. */
  flush(trace: Trace): void {
    for (let guard = 0; trace.updates.size > 0 && guard < 100_000; guard++) {
      const before = trace.updates.size;
      this.print(trace);
      if (trace.updates.size === before) {
        const pending = [...trace.updates]
          .map((d) => trace.byDigest.get(d))
          .filter((t): t is TraceVertex => t !== undefined)
          .sort((a, b) => a.index - b.index)[0];
        if (pending === undefined) {
          trace.updates.clear();
          break;
        }
        this.printVertex(trace, pending.vertex.digest);
      }
    }
  }
}
