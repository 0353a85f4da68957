/**
 * Aligns tab-separated text the way Go's text/tabwriter does. The defaults are buildctl's
 * settings (minwidth 1, tabwidth 8, padding 1, padchar '\t'); BuildKit's subrequest printers use
 * padchar ' ' with minwidth 0. A cell is aligned only if a tab terminates it; columns are sized
 * per run of adjacent lines that have that column.
 */
export function formatTabs(
  text: string,
  opts: { minWidth?: number; tabWidth?: number; padding?: number; padChar?: '\t' | ' ' } = {},
): string {
  const padChar = opts.padChar ?? '\t';
  const minWidth = opts.minWidth ?? (padChar === '\t' ? 1 : 0);
  const tabWidth = opts.tabWidth ?? 8;
  const padding = opts.padding ?? 1;
  const trailingNewline = text.endsWith('\n');
  const lines = (trailingNewline ? text.slice(0, -1) : text).split('\n').map((l) => l.split('\t'));
  const widths: number[][] = lines.map(() => []);
  const maxCols = Math.max(0, ...lines.map((c) => c.length - 1));
  for (let col = 0; col < maxCols; col++) {
    let i = 0;
    while (i < lines.length) {
      if ((lines[i]?.length ?? 0) - 1 <= col) {
        i++;
        continue;
      }
      let j = i;
      let width = minWidth;
      while (j < lines.length && (lines[j]?.length ?? 0) - 1 > col) {
        width = Math.max(width, [...(lines[j]?.[col] ?? '')].length + padding);
        j++;
      }
      for (let k = i; k < j; k++) (widths[k] as number[])[col] = width;
      i = j;
    }
  }
  const out = lines.map((cells, li) =>
    cells
      .map((cell, ci) => {
        if (ci === cells.length - 1) return cell;
        const cellWidth = widths[li]?.[ci] ?? minWidth;
        if (padChar === ' ') return cell.padEnd(cellWidth, ' ');
        const rounded = Math.ceil(cellWidth / tabWidth) * tabWidth;
        const n = rounded - [...cell].length;
        return cell + '\t'.repeat(Math.ceil(n / tabWidth));
      })
      .join(''),
  );
  return out.join('\n') + (trailingNewline ? '\n' : '');
}
