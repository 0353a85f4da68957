import { formatBytes } from '../human-units.js';
import { toMillis } from './solve-status.js';
import type { Trace, TraceVertex } from './trace.js';
import { isCanceledError } from './trace.js';

const esc = '\x1b[';
const hideCursor = `${esc}?25l`;
const showCursor = `${esc}?25h`;
const colors = {
  done: `${esc}34m`,
  error: `${esc}31m`,
  cancel: `${esc}33m`,
  faint: `${esc}2m`,
  reset: `${esc}0m`,
} as const;
/** Lines of a running step's output shown under it. */
const termLines = 6;

export interface TtyTarget {
  write(text: string): void;
  readonly columns?: number | undefined;
  readonly rows?: number | undefined;
}

interface Job {
  readonly name: string;
  readonly status: string;
  readonly seconds: number;
  readonly completed: boolean;
  readonly color: string | undefined;
  readonly tail: readonly string[];
}

/**
 * The live view (`[+] Building 3.2s (5/7)` and one line per step), redrawn in place with ANSI
 * cursor movement. Durations of running steps are measured on the local clock, shifted by the
 * difference seen when the first step started, so daemon clock skew does not show.
 */
export class TtyDisplay {
  private lineCount = 0;
  private repeated = false;
  private localTimeDiffMs: number | undefined;
  private readonly now: () => number;

  constructor(
    private readonly out: TtyTarget,
    private readonly phase = 'Building',
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  private jobs(trace: Trace, nowMs: number): Job[] {
    const jobs: Job[] = [];
    const skew = this.localTimeDiffMs ?? 0;
    const span = (started: number | undefined, completed: number | undefined): number => {
      if (started === undefined) return 0;
      const end = completed ?? nowMs - skew;
      const s = (end - started) / 1000;
      return s < 0.05 ? 0 : s;
    };
    for (const tv of trace.started) {
      const v = tv.vertex;
      let name = v.name.replaceAll('\t', ' ');
      let color: string | undefined = colors.done;
      if (v.error !== '') {
        if (isCanceledError(v.error)) {
          name = `CANCELED ${name}`;
          color = colors.cancel;
        } else {
          name = `ERROR ${name}`;
          color = colors.error;
        }
      }
      if (v.cached) name = `CACHED ${name}`;
      const completed = v.completed !== undefined;
      jobs.push({
        name,
        status: '',
        seconds: span(v.started && toMillis(v.started), v.completed && toMillis(v.completed)),
        completed,
        color: completed ? color : undefined,
        tail: completed ? [] : lastLines(tv),
      });
      for (const s of tv.statuses) {
        let status = '';
        if (s.total !== 0) status = `${formatBytes(s.current)} / ${formatBytes(s.total)}`;
        else if (s.current !== 0) status = formatBytes(s.current);
        const done = s.completed !== undefined;
        jobs.push({
          name: `=> ${s.id}`,
          status,
          seconds: span(s.started && toMillis(s.started), s.completed && toMillis(s.completed)),
          completed: done,
          color: done ? colors.done : undefined,
          tail: [],
        });
      }
      for (const w of tv.warnings) {
        jobs.push({
          name: `WARN: ${Buffer.from(w.short).toString('utf8')}`,
          status: '',
          seconds: 0,
          completed: true,
          color: colors.cancel,
          tail: [],
        });
      }
    }
    return jobs;
  }

  /** Redraws the view; `final` prints every step and the FINISHED marker. */
  render(trace: Trace, final: boolean): void {
    const nowMs = this.now();
    if (this.localTimeDiffMs === undefined && trace.startTime !== undefined) {
      this.localTimeDiffMs = nowMs - toMillis(trace.startTime);
    }
    const width = Math.max(20, this.out.columns ?? 80);
    const height = Math.max(5, this.out.rows ?? 24);
    let jobs = this.jobs(trace, nowMs);
    if (!final && jobs.length > height - 2) jobs = jobs.slice(jobs.length - (height - 2));

    let out = '';
    if (this.repeated) out += `${esc}${this.lineCount + 1}A`;
    out += `\r${hideCursor}`;
    this.repeated = true;

    let total = 0;
    let done = 0;
    for (const tv of trace.byDigest.values()) {
      total++;
      if (tv.vertex.completed !== undefined) done++;
    }
    const elapsed =
      trace.startTime === undefined
        ? 0
        : (nowMs - (this.localTimeDiffMs ?? 0) - toMillis(trace.startTime)) / 1000;
    const finished = final && done > 0 && done === total ? 'FINISHED' : '';
    out += `${clip(`[+] ${this.phase} ${Math.max(0, elapsed).toFixed(1)}s (${done}/${total}) ${finished}`, width)}\n`;

    let lines = 0;
    for (const j of jobs) {
      const timer = ` ${j.seconds.toFixed(1)}s`;
      const pfx = ' => ';
      let left = width - pfx.length - timer.length - 1;
      let showStatus = false;
      if (j.status !== '' && left + j.status.length > 20) {
        showStatus = true;
        left -= j.status.length + 1;
      }
      if (left < 12) continue;
      let text = pfx + (j.name.length > left ? j.name.slice(0, left) : j.name);
      if (showStatus) text += ` ${j.status}`;
      text = `${text.padEnd(width - timer.length - 1)}${timer}`;
      out += j.color === undefined ? `${text}\n` : `${j.color}${text}${colors.reset}\n`;
      lines++;
      for (const t of j.tail) {
        out += `${colors.faint}${clip(` => => # ${t}`, width)}${colors.reset}\n`;
        lines++;
      }
    }
    // Blank out what the previous, longer frame left behind.
    const diff = this.lineCount - lines;
    if (diff > 0) {
      out += `${' '.repeat(width - 1)}\n`.repeat(diff);
      out += `${esc}${diff}A\r`;
    }
    out += showCursor;
    this.lineCount = lines;
    this.out.write(out);
  }
}

function lastLines(tv: TraceVertex): string[] {
  return tv.rawLines.slice(-termLines).filter((l) => l.trim() !== '');
}

function clip(s: string, width: number): string {
  return s.length >= width ? s.slice(0, width - 1) : s;
}
