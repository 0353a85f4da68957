/**
 * Go's text/tabwriter with padchar ' ' and no flags, as BuildKit's subrequest printers use it:
 * each tab-terminated cell is padded to its column's width plus `padding`; a column's width is
 * shared by a run of adjacent lines that have that column.
 */
export function alignColumns(text: string, opts: { minWidth?: number; padding?: number } = {}): string {
  const minWidth = opts.minWidth ?? 0;
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
      .map((cell, ci) => (ci === cells.length - 1 ? cell : cell.padEnd(widths[li]?.[ci] ?? minWidth, ' ')))
      .join(''),
  );
  return out.join('\n') + (trailingNewline ? '\n' : '');
}
