import { InvalidArgumentError } from '../../proto/errors.js';

const nanosPerUnit: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3, // U+00B5 micro sign
  μs: 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/**
 * Parses a Go duration (`time.ParseDuration`): `300ms`, `1.5h`, `2h45m`, `-1m`, `0`. Returns
 * nanoseconds, the unit BuildKit's PruneRequest.keepDuration uses on the wire.
 */
export function parseGoDuration(text: string): number {
  const invalid = () => new InvalidArgumentError(`time: invalid duration "${text}"`);
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0;
  const re = /^(\d*)(?:\.(\d*))?([^\d.]+)/u;
  while (s !== '') {
    const m = re.exec(s);
    if (!m) throw invalid();
    const whole = m[1] ?? '';
    const frac = m[2];
    const unitName = m[3] ?? '';
    if (whole === '' && (frac === undefined || frac === '')) throw invalid();
    const unit = nanosPerUnit[unitName];
    if (unit === undefined)
      throw new InvalidArgumentError(`time: unknown unit "${unitName}" in duration "${text}"`);
    const value = Number(`${whole === '' ? '0' : whole}.${frac ?? ''}`.replace(/\.$/u, ''));
    total += value * unit;
    s = s.slice(m[0].length);
  }
  if (!Number.isFinite(total) || total > 2 ** 63)
    throw new InvalidArgumentError(`time: invalid duration "${text}"`);
  return sign * Math.round(total);
}

/** Formats nanoseconds like Go's `time.Duration.String()`: `48h0m0s`, `1.5s`, `300ms`, `0s`. */
export function formatGoDuration(nanos: number): string {
  if (nanos === 0) return '0s';
  const neg = nanos < 0;
  const abs = Math.abs(Math.round(nanos));
  const sign = neg ? '-' : '';
  if (abs < 1e9) {
    // Sub-second durations use the smallest unit that keeps a non-zero integer part.
    if (abs < 1e3) return `${sign}${abs}ns`;
    if (abs < 1e6) return `${sign}${trimFraction(abs / 1e3)}µs`;
    return `${sign}${trimFraction(abs / 1e6)}ms`;
  }
  const hours = Math.floor(abs / 3600e9);
  const minutes = Math.floor((abs % 3600e9) / 60e9);
  const secondsNanos = abs % 60e9;
  const seconds = trimFraction(secondsNanos / 1e9);
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

function trimFraction(value: number): string {
  // Go prints up to nine fractional digits with trailing zeros dropped.
  return value.toFixed(9).replace(/\.?0+$/u, '');
}
