import { InvalidArgumentError } from '../../proto/errors.js';
import { PlainPrinter } from './plain-printer.js';
import type { SolveStatus } from './solve-status.js';
import { solveStatusToJson } from './solve-status.js';
import { errorSummary, Trace } from './trace.js';
import { warningSummary } from './warnings.js';
import { TtyDisplay } from './tty-display.js';

export const ProgressModes = ['auto', 'plain', 'tty', 'rawjson', 'quiet'] as const;
export type ProgressMode = (typeof ProgressModes)[number];

export function parseProgressMode(value: string): ProgressMode {
  const mode = ProgressModes.find((m) => m === value);
  if (mode === undefined) throw new InvalidArgumentError(`invalid progress value : ${value}`);
  return mode;
}

/** Where progress is written: normally process.stderr. */
export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
  readonly rows?: number | undefined;
}

export interface ProgressDisplay {
  update(status: SolveStatus): void;
  /** Final redraw and the summary of failed steps; call once, after the stream ended. */
  done(): void;
}

/** How often the TTY view redraws at most, and how often it ticks its timers when idle. */
const ttyRedrawMs = 100;
const ttyTickMs = 150;

/**
 * Chooses the display like buildctl: `auto` is the live view when the output is a terminal and
 * plain text otherwise; `tty` insists on a terminal.
 */
export function createProgressDisplay(
  mode: ProgressMode,
  out: ProgressOutput,
  options: { phase?: string } = {},
): ProgressDisplay {
  const write = (text: string) => {
    out.write(text);
  };
  switch (mode) {
    case 'quiet':
      return { update: () => {}, done: () => {} };
    case 'rawjson':
      return {
        update: (s) => write(`${JSON.stringify(solveStatusToJson(s))}\n`),
        done: () => {},
      };
    case 'tty':
      if (out.isTTY !== true)
        throw new InvalidArgumentError('failed to get console: output is not a terminal');
      return ttyDisplay(out, options.phase);
    case 'auto':
      if (out.isTTY === true) return ttyDisplay(out, options.phase);
      return plainDisplay(write);
    case 'plain':
      return plainDisplay(write);
    default: {
      const never: never = mode;
      throw new InvalidArgumentError(`invalid progress value : ${String(never)}`);
    }
  }
}

export function plainDisplay(
  write: (text: string) => void,
  options: { now?: () => number } = {},
): ProgressDisplay {
  const trace = new Trace(options);
  const printer = new PlainPrinter(write, options);
  return {
    update(s) {
      trace.update(s);
      printer.print(trace);
    },
    done() {
      printer.flush(trace);
      write(warningSummary(trace));
      const summary = errorSummary(trace, 'plain');
      if (summary !== '') write(summary);
    },
  };
}

function ttyDisplay(out: ProgressOutput, phase: string | undefined): ProgressDisplay {
  const trace = new Trace();
  // Read the size on every frame so a resized terminal is honoured.
  const target = {
    write: (t: string) => {
      out.write(t);
    },
    get columns() {
      return out.columns;
    },
    get rows() {
      return out.rows;
    },
  };
  const view = new TtyDisplay(target, phase);
  let lastDraw = 0;
  const timer = setInterval(() => view.render(trace, false), ttyTickMs);
  timer.unref();
  return {
    update(s) {
      trace.update(s);
      const now = Date.now();
      if (now - lastDraw >= ttyRedrawMs) {
        lastDraw = now;
        view.render(trace, false);
      }
    },
    done() {
      clearInterval(timer);
      view.render(trace, true);
      out.write(warningSummary(trace));
      const summary = errorSummary(trace, 'tty');
      if (summary !== '') out.write(summary);
    },
  };
}
