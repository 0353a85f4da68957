import type { SolveStatus, Timestamp, Vertex, VertexStatus, VertexWarning } from './solve-status.js';
import { secondsBetween } from './solve-status.js';

/** How many printed log lines a vertex keeps to repeat in the error summary. */
const logsBufferSize = 10;
/** Upper bound on retained raw log lines per vertex for the TTY view. */
const maxKeptLines = 10_000;

/** One vertex as the displays see it, merged from every update received for its digest. */
export interface TraceVertex {
  /** `#N`: position of first appearance in the stream, starting at 1. */
  readonly index: number;
  vertex: Vertex;
  prev: Vertex | undefined;
  /** Sub-tasks in the order they started. */
  readonly statuses: VertexStatus[];
  readonly byId: Map<string, VertexStatus>;
  readonly statusUpdates: Set<string>;
  /** Lines not yet printed by the plain printer, already prefixed with `#N <sec>`. */
  logs: string[];
  logsPartial: boolean;
  /** Characters of logs[0] already printed (a partial line continues on the next update). */
  logsOffset: number;
  /** Last printed lines, for the error summary. */
  readonly logsBuffer: string[];
  /** Every log line, unprefixed, for the TTY view and its error summary. */
  readonly rawLines: string[];
  rawPartial: boolean;
  readonly warnings: VertexWarning[];
  readonly events: string[];
  /** When the vertex last started accumulating unprinted updates (ms). */
  lastBlockTime: number | undefined;
  count: number;
}

function sameTime(a: Timestamp | undefined, b: Timestamp | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.seconds === b.seconds && a.nanos === b.nanos;
}

/** Splits on `\n`; reports whether the data ended on a line boundary. */
function splitLines(data: string, fn: (line: string) => void): boolean {
  if (data.length === 0) return false;
  let rest = data;
  for (;;) {
    if (rest.length === 0) return true;
    const idx = rest.indexOf('\n');
    if (idx === -1) {
      fn(rest);
      return false;
    }
    fn(rest.slice(0, idx));
    rest = rest.slice(idx + 1);
  }
}

/** Seconds formatted with 3, 2 or 1 decimals depending on magnitude, as buildctl does. */
export function formatLogSeconds(sec: number): string {
  const prec = sec < 10 ? 3 : sec < 100 ? 2 : 1;
  return sec.toFixed(prec);
}

/**
 * The merged view of a build's progress. Later events for the same vertex digest or status id
 * replace earlier ones; vertices are numbered in order of first appearance.
 */
export class Trace {
  readonly byDigest = new Map<string, TraceVertex>();
  /** Vertices that have started, in start order. */
  readonly started: TraceVertex[] = [];
  readonly updates = new Set<string>();
  /** Every warning received, in order (BuildKit's VertexWarning). */
  readonly warnings: VertexWarning[] = [];
  startTime: Timestamp | undefined;
  private nextIndex = 0;
  private readonly now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
  }

  private bump(v: TraceVertex): void {
    if (v.count === 0) v.lastBlockTime = this.now();
    v.count++;
  }

  private vertexChanged(v: Vertex, tv: TraceVertex): void {
    if (v.started === undefined) return;
    const old = tv.prev;
    const changed =
      old === undefined ||
      v.name !== old.name ||
      !sameTime(v.started, old.started) ||
      (v.completed !== undefined && !sameTime(v.completed, old.completed)) ||
      v.cached !== old.cached ||
      v.error !== old.error;
    if (changed) {
      this.bump(tv);
      this.updates.add(v.digest);
    }
    tv.prev = v;
  }

  update(s: SolveStatus): void {
    for (const v of s.vertexes) {
      if (this.startTime === undefined && v.started !== undefined) this.startTime = v.started;
      let tv = this.byDigest.get(v.digest);
      const wasStarted = tv?.vertex.started !== undefined;
      if (tv === undefined) {
        this.nextIndex++;
        tv = {
          index: this.nextIndex,
          vertex: v,
          prev: undefined,
          statuses: [],
          byId: new Map(),
          statusUpdates: new Set(),
          logs: [],
          logsPartial: false,
          logsOffset: 0,
          logsBuffer: [],
          rawLines: [],
          rawPartial: false,
          warnings: [],
          events: [],
          lastBlockTime: undefined,
          count: 0,
        };
        this.byDigest.set(v.digest, tv);
      }
      this.vertexChanged(v, tv);
      if (v.started !== undefined && !wasStarted) this.started.push(tv);
      // A repeated unstarted vertex must not reset a started one.
      if (!wasStarted || v.started !== undefined) tv.vertex = v;
    }
    for (const st of s.statuses) {
      const tv = this.byDigest.get(st.vertex);
      if (tv === undefined) continue;
      const prev = tv.byId.get(st.id);
      if (st.started !== undefined && (prev === undefined || prev.started === undefined)) {
        tv.statuses.push(st);
      } else if (prev !== undefined) {
        const i = tv.statuses.indexOf(prev);
        if (i !== -1) tv.statuses[i] = st;
      }
      tv.byId.set(st.id, st);
      tv.statusUpdates.add(st.id);
      this.updates.add(tv.vertex.digest);
      this.bump(tv);
    }
    for (const w of s.warnings) {
      // Kept for the end-of-build summary, also when no vertex owns it (frontend warnings).
      this.warnings.push(w);
      const tv = this.byDigest.get(w.vertex);
      if (tv === undefined) continue;
      tv.warnings.push(w);
      tv.events.push(`WARN: ${Buffer.from(w.short).toString('utf8')}`);
      this.updates.add(tv.vertex.digest);
      this.bump(tv);
    }
    for (const l of s.logs) {
      const tv = this.byDigest.get(l.vertex);
      if (tv === undefined) continue;
      const text = Buffer.from(l.data.buffer, l.data.byteOffset, l.data.byteLength).toString('utf8');
      let i = 0;
      const complete = splitLines(text, (line) => {
        if (tv.logsPartial && tv.logs.length > 0 && i === 0) {
          tv.logs[tv.logs.length - 1] += line;
        } else {
          const started = tv.vertex.started;
          const sec = started === undefined ? 0 : Math.max(0, secondsBetween(started, l.timestamp));
          tv.logs.push(`#${tv.index} ${formatLogSeconds(sec)} ${line}`);
        }
        if (tv.rawPartial && tv.rawLines.length > 0 && i === 0) {
          tv.rawLines[tv.rawLines.length - 1] += line;
        } else {
          tv.rawLines.push(line);
          if (tv.rawLines.length > maxKeptLines) tv.rawLines.shift();
        }
        i++;
      });
      tv.logsPartial = !complete;
      tv.rawPartial = !complete;
      this.updates.add(tv.vertex.digest);
      this.bump(tv);
    }
  }

  /** Keeps a printed line for the error summary (plain mode). */
  rememberPrinted(tv: TraceVertex, line: string, continuing: boolean): void {
    if (continuing && tv.logsBuffer.length > 0) {
      tv.logsBuffer[tv.logsBuffer.length - 1] = line;
    } else {
      tv.logsBuffer.push(line);
      if (tv.logsBuffer.length > logsBufferSize) tv.logsBuffer.shift();
    }
  }
}

/** An error ending in "context canceled" is shown as CANCELED, not as a failure. */
export function isCanceledError(message: string): boolean {
  return message.endsWith('context canceled');
}

/**
 * The summary printed after the build for every failed vertex: its name and its last log lines,
 * between dashed rules.
 */
export function errorSummary(trace: Trace, mode: 'plain' | 'tty'): string {
  let out = '';
  for (const tv of trace.started) {
    const err = tv.vertex.error;
    if (err === '' || isCanceledError(err)) continue;
    out += '------\n';
    out += ` > ${tv.vertex.name}:\n`;
    const lines = mode === 'plain' ? tv.logsBuffer : tv.rawLines.slice(-logsBufferSize);
    for (const l of lines) out += `${l}\n`;
    out += '------\n';
  }
  return out;
}
