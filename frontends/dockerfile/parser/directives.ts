/**
 * Parser directives (`# syntax=`, `# escape=`, `# check=`): comment lines at the very top of a
 * Dockerfile. The first line that is not a known directive ends the directive block.
 */

export const DirectiveNames = { syntax: 'syntax', escape: 'escape', check: 'check' } as const;
export type DirectiveName = (typeof DirectiveNames)[keyof typeof DirectiveNames];

export interface Directive {
  readonly name: DirectiveName;
  readonly value: string;
  /** 1-based. */
  readonly line: number;
}

/** Thrown when a directive appears twice; the caller attaches the location. */
export class DuplicateDirectiveError extends Error {
  constructor(readonly directive: DirectiveName) {
    super(`only one ${directive} parser directive can be used`);
    this.name = 'DuplicateDirectiveError';
  }
}

const DIRECTIVE_RE = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/;

function isDirectiveName(k: string): k is DirectiveName {
  return k === 'syntax' || k === 'escape' || k === 'check';
}

/** Feeds lines one by one; stops recognising directives at the first other line. */
export class DirectiveParser {
  private line: number;
  private done = false;
  private readonly seen = new Set<DirectiveName>();
  private readonly comment: string;

  constructor(options: { comment?: string; startLine?: number } = {}) {
    this.comment = options.comment ?? '#';
    this.line = options.startLine ?? 0;
  }

  get finished(): boolean {
    return this.done;
  }

  parseLine(text: string): Directive | undefined {
    this.line++;
    if (this.done) return undefined;
    if (!text.startsWith(this.comment)) {
      this.done = true;
      return undefined;
    }
    const rest = text.slice(this.comment.length).replace(/^\s+/u, '');
    const m = DIRECTIVE_RE.exec(rest);
    const key = m?.[1]?.toLowerCase();
    if (m === null || key === undefined || !isDirectiveName(key)) {
      this.done = true;
      return undefined;
    }
    if (this.seen.has(key)) throw new DuplicateDirectiveError(key);
    this.seen.add(key);
    return { name: key, value: m[2] ?? '', line: this.line };
  }

  parseAll(text: string): Directive[] {
    const out: Directive[] = [];
    for (const line of splitScannerLines(text)) {
      if (this.done) break;
      const d = this.parseLine(line);
      if (d) out.push(d);
    }
    return out;
  }
}

/** bufio.ScanLines: split on \n, drop one trailing \r, no empty final token. */
function splitScannerLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

export interface DetectedDirective {
  /** The value up to the first space (e.g. the frontend image ref for `syntax`). */
  readonly value: string;
  /** The whole value as written. */
  readonly cmdline: string;
  /** 1-based line, counting a shebang line. */
  readonly line: number;
}

function stripBom(text: string): string {
  return text.startsWith('\ufeff') ? text.slice(1) : text;
}

function directiveFrom(
  key: DirectiveName,
  text: string,
  parser: DirectiveParser,
): DetectedDirective | undefined {
  let found: Directive | undefined;
  try {
    found = parser.parseAll(text).find((d) => d.name === key);
  } catch {
    return undefined;
  }
  if (!found) return undefined;
  const space = found.value.indexOf(' ');
  return {
    value: space < 0 ? found.value : found.value.slice(0, space),
    cmdline: found.value,
    line: found.line,
  };
}

function lookupDirective(
  key: DirectiveName,
  source: string,
  anyFormat: boolean,
): DetectedDirective | undefined {
  let text = stripBom(source);
  let startLine = 0;
  const nl = text.indexOf('\n');
  const firstLine = nl < 0 ? text : text.slice(0, nl);
  if (firstLine.startsWith('#!')) {
    text = nl < 0 ? '' : text.slice(nl + 1);
    startLine = 1;
  }
  const hash = directiveFrom(key, text, new DirectiveParser({ startLine }));
  if (hash || !anyFormat) return hash;
  const slashes = directiveFrom(key, text, new DirectiveParser({ comment: '//', startLine }));
  if (slashes) return slashes;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const v = (parsed as Record<string, unknown>)[key];
      if (typeof v === 'string') return { value: v, cmdline: v, line: startLine };
    }
  } catch {
    // not JSON: no directive
  }
  return undefined;
}

/**
 * The `syntax` directive: `# syntax=`, then `// syntax=`, then a JSON `{"syntax": …}` document;
 * a leading shebang line and a UTF-8 BOM are skipped.
 */
export function detectSyntax(source: string | Uint8Array): DetectedDirective | undefined {
  return lookupDirective('syntax', typeof source === 'string' ? source : decodeUtf8(source), true);
}

/** A `#`-style directive by name (e.g. `check`). */
export function parseDirective(
  name: DirectiveName,
  source: string | Uint8Array,
): DetectedDirective | undefined {
  return lookupDirective(name, typeof source === 'string' ? source : decodeUtf8(source), false);
}

export function decodeUtf8(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
}
