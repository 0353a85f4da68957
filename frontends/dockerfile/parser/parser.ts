import { InvalidArgumentError } from '../../../proto/errors.js';
import type { Directives, Heredoc, InstructionNode, ParseResult, ParseWarning } from './ast.js';
import { DirectiveParser, DuplicateDirectiveError, decodeUtf8 } from './directives.js';
import { heredocsFromLine } from './heredoc.js';
import {
  LineParseError,
  type ParsedArgs,
  parseHealthConfig,
  parseMaybeJson,
  parseMaybeJsonToList,
  parseNameOrNameVal,
  parseNameVal,
  parseString,
  parseStringsWhitespaceDelimited,
} from './line-parsers.js';
import { splitCommand } from './split-command.js';
import { trimLeftUnicodeSpace } from './unicode-space.js';

export { detectSyntax, parseDirective } from './directives.js';
export { dumpAst } from './dump.js';

/**
 * Dockerfile text → AST, following BuildKit's parser (frontend/dockerfile/parser/parser.go):
 * directives, escape token, continuations, comments, per-instruction argument splitting and
 * heredoc bodies. It does not know which instructions exist; instructions/ reports that.
 */

/** bufio.Scanner's default limit: longer lines are rejected like BuildKit does. */
const MAX_LINE_BYTES = 64 * 1024;
const HEREDOC_INSTRUCTIONS = new Set(['add', 'copy', 'run']);
const EMPTY_CONTINUATION_URL = 'https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/';

export interface ParseOptions {
  /** Name used in error locations. */
  readonly file?: string;
}

type EscapeToken = '\\' | '`';

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

function continuationRegExp(esc: EscapeToken): RegExp {
  const e = escapeRegExp(esc);
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
}

/** Splits into lines that keep their "\n" (heredoc bodies need the exact bytes). */
function scanLines(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl + 1;
    out.push(text.slice(start, end));
    start = end;
  }
  return out;
}

function trimNewline(s: string): string {
  let end = s.length;
  while (end > 0 && (s[end - 1] === '\n' || s[end - 1] === '\r')) end--;
  return s.slice(0, end);
}

function isComment(line: string): boolean {
  return trimLeftUnicodeSpace(line).startsWith('#');
}

/** Dispatches on the keyword to the argument parser BuildKit uses for it. */
function parseArgs(keyword: string, rest: string, esc: EscapeToken): ParsedArgs {
  switch (keyword) {
    case 'add':
    case 'copy':
    case 'volume':
      return parseMaybeJsonToList(rest);
    case 'arg':
      return parseNameOrNameVal(rest, esc);
    case 'cmd':
    case 'entrypoint':
    case 'run':
    case 'shell':
      return parseMaybeJson(rest);
    case 'env':
      return parseNameVal(rest, 'ENV', esc);
    case 'label':
      return parseNameVal(rest, 'LABEL', esc);
    case 'expose':
    case 'from':
      return parseStringsWhitespaceDelimited(rest);
    case 'healthcheck':
      return parseHealthConfig(rest);
    case 'maintainer':
    case 'stopsignal':
    case 'user':
    case 'workdir':
      return parseString(rest);
    default:
      // Unknown instructions keep one empty argument, as BuildKit's parseIgnore does; the
      // instructions layer reports them.
      return { args: [''], json: false };
  }
}

interface NodeDraft {
  keyword: string;
  rawKeyword: string;
  args: string[];
  json: boolean;
  flags: string[];
  trigger?: NodeDraft;
  original: string;
}

function nodeFromLine(line: string, esc: EscapeToken): NodeDraft {
  const { keyword: rawKeyword, flags, rest } = splitCommand(line);
  const keyword = rawKeyword.toLowerCase();
  if (keyword === 'onbuild') {
    const draft: NodeDraft = { keyword, rawKeyword, args: [], json: false, flags, original: line };
    if (rest !== '') draft.trigger = nodeFromLine(rest, esc);
    return draft;
  }
  const parsed = parseArgs(keyword, rest, esc);
  return { keyword, rawKeyword, args: parsed.args, json: parsed.json, flags, original: line };
}

function canContainHeredoc(node: NodeDraft): boolean {
  const target = node.keyword === 'onbuild' && node.trigger ? node.trigger : node;
  return HEREDOC_INSTRUCTIONS.has(target.keyword) && !target.json;
}

function finish(
  d: NodeDraft,
  lines: { start: number; end: number },
  heredocs: Heredoc[],
  prevComment: string[],
): InstructionNode {
  const node: InstructionNode = {
    keyword: d.keyword,
    rawKeyword: d.rawKeyword,
    args: d.args,
    json: d.json,
    flags: d.flags,
    heredocs,
    original: d.original,
    startLine: lines.start,
    endLine: lines.end,
    prevComment,
    ...(d.trigger ? { trigger: finish(d.trigger, lines, [], []) } : {}),
  };
  return node;
}

/**
 * Parses a Dockerfile. Throws InvalidArgumentError with a location for syntax errors: no
 * instructions, a bad or repeated directive, `ENV key` without a value, a non-string JSON array,
 * an unterminated heredoc or an over-long line.
 */
export function parseDockerfile(source: string | Uint8Array, opts: ParseOptions = {}): ParseResult {
  const file = opts.file ?? 'Dockerfile';
  let text = typeof source === 'string' ? source : decodeUtf8(source);
  if (text.startsWith('\ufeff')) text = text.slice(1);
  const lines = scanLines(text);

  const fail = (message: string, line: number, cause?: unknown): never => {
    const at = Math.max(1, Math.min(line, lines.length));
    const raw = lines[at - 1];
    throw new InvalidArgumentError(message, {
      ...(cause === undefined ? {} : { cause }),
      location: { file, line: at, ...(raw === undefined ? {} : { text: trimNewline(raw) }) },
    });
  };

  let esc: EscapeToken = '\\';
  let contRe = continuationRegExp(esc);
  const directiveParser = new DirectiveParser();
  const directives: { syntax?: string; escape?: string; check?: string } = {};
  const children: InstructionNode[] = [];
  const warnings: ParseWarning[] = [];
  let comments: string[] = [];
  let next = 0;
  let currentLine = 0;

  const scan = (): string | undefined => {
    const l = lines[next];
    if (l === undefined) return undefined;
    if (l.length > MAX_LINE_BYTES / 4 && Buffer.byteLength(l, 'utf8') > MAX_LINE_BYTES) {
      fail(`dockerfile line greater than max allowed size of ${MAX_LINE_BYTES - 1}`, next + 1);
    }
    next++;
    return l;
  };

  /** Newline trimmed, directive recognised, comment lines emptied (BuildKit's processLine). */
  const processLine = (
    raw: string,
    stripLeft: boolean,
    lineNo: number,
  ): { text: string; directive: boolean } => {
    let t = trimNewline(raw);
    if (stripLeft) t = trimLeftUnicodeSpace(t);
    let directive = false;
    try {
      const d = directiveParser.parseLine(t);
      if (d) {
        directive = true;
        directives[d.name] = d.value;
        if (d.name === 'escape') {
          if (d.value !== '\\' && d.value !== '`') {
            fail(`invalid escape token '${d.value}' does not match \` or \\`, lineNo);
          }
          esc = d.value as EscapeToken;
          contRe = continuationRegExp(esc);
        }
      }
    } catch (err) {
      if (err instanceof DuplicateDirectiveError) fail(err.message, lineNo, err);
      throw err;
    }
    return { text: isComment(t) ? '' : t, directive };
  };

  const trimContinuation = (t: string): { text: string; end: boolean } => {
    if (contRe.test(t)) return { text: t.replace(contRe, '$1'), end: false };
    return { text: t, end: true };
  };

  for (let raw = scan(); raw !== undefined; raw = scan()) {
    if (isComment(raw)) {
      // Like BuildKit: drop the first byte of the raw line (the `#` unless indented).
      const comment = trimNewline(raw).slice(1).trim();
      if (comment === '') comments = [];
      else comments.push(comment);
    }
    const first = processLine(raw, true, currentLine + 1);
    if (first.directive) comments.pop();
    currentLine++;
    const startLine = currentLine;
    let { text: line, end: isEndOfLine } = trimContinuation(first.text);
    if (isEndOfLine && line === '') continue;

    let hasEmptyContinuationLine = false;
    while (!isEndOfLine) {
      const cont = scan();
      if (cont === undefined) break;
      const processed = processLine(cont, false, currentLine + 1);
      currentLine++;
      if (isComment(cont)) continue;
      if (trimLeftUnicodeSpace(trimNewline(processed.text)) === '') {
        hasEmptyContinuationLine = true;
        continue;
      }
      const t = trimContinuation(processed.text);
      line += t.text;
      isEndOfLine = t.end;
    }

    if (hasEmptyContinuationLine) {
      warnings.push({
        short: `Empty continuation line found in: ${line}`,
        detail: 'Empty continuation lines will become errors in a future release',
        url: EMPTY_CONTINUATION_URL,
        line: currentLine,
      });
    }

    let draft: NodeDraft;
    try {
      draft = nodeFromLine(line, esc);
    } catch (err) {
      if (err instanceof LineParseError) fail(err.message, startLine, err);
      throw err;
    }

    const heredocs: Heredoc[] = [];
    if (canContainHeredoc(draft) && line.includes('<<')) {
      let headers: ReturnType<typeof heredocsFromLine>;
      try {
        headers = heredocsFromLine(line);
      } catch (err) {
        return fail(err instanceof Error ? err.message : String(err), startLine, err);
      }
      for (const h of headers) {
        let content = '';
        let terminated = false;
        for (let body = scan(); body !== undefined; body = scan()) {
          currentLine++;
          let candidate = trimNewline(body);
          if (h.chomp) candidate = candidate.replace(/^\t+/, '');
          if (candidate === h.name) {
            terminated = true;
            break;
          }
          content += body;
        }
        if (!terminated) fail(`unterminated heredoc ${h.name}`, startLine);
        heredocs.push({ ...h, content });
      }
    }

    children.push(finish(draft, { start: startLine, end: currentLine }, heredocs, comments));
    comments = [];
  }

  const firstChild = children[0];
  const lastChild = children[children.length - 1];
  if (firstChild === undefined || lastChild === undefined) {
    return fail('file with no instructions', currentLine);
  }
  const dirs: Directives = directives;
  return {
    children,
    escapeToken: esc,
    directives: dirs,
    warnings,
    startLine: firstChild.startLine,
    endLine: lastChild.endLine,
  };
}
