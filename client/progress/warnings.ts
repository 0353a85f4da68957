import type { Trace } from './trace.js';

/**
 * The warnings of a build, once each, after the progress (as buildx does at the end of a build):
 * `WARNING: <short>`, then the first detail line and the documentation URL, indented.
 */
export function warningSummary(trace: Trace): string {
  const seen = new Set<string>();
  let out = '';
  for (const w of trace.warnings) {
    const short = Buffer.from(w.short).toString('utf8');
    if (seen.has(short)) continue;
    seen.add(short);
    out += `WARNING: ${short}\n`;
    const detail = w.detail[0];
    if (detail !== undefined && detail.length > 0) out += `  ${Buffer.from(detail).toString('utf8')}\n`;
    if (w.url !== '') out += `  More info: ${w.url}\n`;
  }
  return out === '' ? '' : `\n${out}`;
}
