import { goQuote } from '../parser/go-quote.js';

/** Go's fmt `%v` of a []string: `[a b c]`. */
export function goList(items: readonly string[]): string {
  return `[${items.join(' ')}]`;
}

/** Go's time.Duration.String() for nanoseconds: "1m30s", "500ms", "0s". */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let n = Math.abs(ns);
  let out: string;
  if (n < 1e3) out = `${n}ns`;
  else if (n < 1e6) out = `${trim(n / 1e3)}µs`;
  else if (n < 1e9) out = `${trim(n / 1e6)}ms`;
  else {
    const h = Math.floor(n / 3600e9);
    n -= h * 3600e9;
    const m = Math.floor(n / 60e9);
    n -= m * 60e9;
    const s = `${trim(n / 1e9)}s`;
    out = h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
  }
  return neg ? `-${out}` : out;
}

function trim(v: number): string {
  return String(Number(v.toFixed(9)));
}

/** Go's `%v` of a map[nat.Port]struct{}: keys sorted, `map[443/tcp:{} 80/tcp:{}]` (v0.11 EXPOSE history). */
export function goPortMap(ports: readonly string[]): string {
  const keys = [...new Set(ports)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `map[${keys.map((k) => `${k}:{}`).join(' ')}]`;
}

/** Go's `%q` of an int: a quoted rune, `'\x04'` or `'A'`. */
export function goQuoteRune(n: number): string {
  if (n >= 0x20 && n < 0x7f) {
    const c = String.fromCharCode(n);
    return c === "'" || c === '\\' ? `'\\${c}'` : `'${c}'`;
  }
  if (n >= 0 && n <= 0xff) return `'\\x${n.toString(16).padStart(2, '0')}'`;
  return `'\\u${n.toString(16).padStart(4, '0')}'`;
}

/**
 * BuildKit v0.11 records HEALTHCHECK as Go's `%q` of its *HealthConfig:
 * `&{["CMD" "cat" "/health"] "30s" "5s" "10s" '\x04'}`.
 */
export function goQuotedHealthcheck(h: {
  readonly test: readonly string[];
  readonly interval: number;
  readonly timeout: number;
  readonly startPeriod: number;
  readonly retries: number;
}): string {
  const durations = [h.interval, h.timeout, h.startPeriod].map((d) => `"${formatGoDuration(d)}"`).join(' ');
  return `&{[${h.test.map(goQuote).join(' ')}] ${durations} ${goQuoteRune(h.retries)}}`;
}
