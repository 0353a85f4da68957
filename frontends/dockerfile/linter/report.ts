import type { FrontendBridge } from '../../types.js';
import type { LintWarning } from './lint.js';

/** BuildKit's LintFormatShort: `<Rule>: <detail> (line N)`. */
export function formatLintShort(w: LintWarning): string {
  const msg = `${w.ruleName}: ${w.detail}`;
  return w.location.line > 0 ? `${msg} (line ${w.location.line})` : msg;
}

/** Sends each warning as a progress VertexWarning: the description is its detail, level 1. */
export function reportLintWarnings(
  bridge: Pick<FrontendBridge, 'warn'>,
  warnings: readonly LintWarning[],
): void {
  for (const w of warnings) {
    bridge.warn({ short: formatLintShort(w), detail: [w.description], url: w.url, level: 1 });
  }
}
