import { isUnicodeSpace, trimLeftUnicodeSpace } from './unicode-space.js';

/**
 * Per-instruction argument parsing, as BuildKit's line parsers split them. Values stay raw
 * (quotes and escapes kept); the instructions layer expands and unquotes them later.
 */

export interface ParsedArgs {
  readonly args: string[];
  readonly json: boolean;
}

/** A problem with the arguments; the parser attaches file and line. */
export class LineParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LineParseError';
  }
}

const WHITESPACE = /[\t\v\f\r ]+/;
const NONE: ParsedArgs = { args: [], json: false };

/** Words separated by whitespace outside quotes; quotes and escapes are kept in the words. */
export function parseWords(rest: string, escapeToken: string): string[] {
  const words: string[] = [];
  const chars = [...rest];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOK = false;
  let word = '';
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = chars[pos] ?? '';
    const atEnd = pos === chars.length;
    if (phase === 'spaces') {
      if (atEnd) break;
      if (isUnicodeSpace(ch)) continue;
      phase = 'word';
    }
    if (atEnd) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (isUnicodeSpace(ch)) {
        phase = 'spaces';
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === escapeToken) {
        if (pos + 1 === chars.length) continue;
        // An unquoted escape keeps itself and the next character, even a quote.
        word += ch;
        pos++;
        ch = chars[pos] ?? '';
      }
      word += ch;
      continue;
    }
    if (ch === quote) phase = 'word';
    // Nothing can be escaped inside single quotes.
    if (ch === escapeToken && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      pos++;
      word += ch;
      ch = chars[pos] ?? '';
    }
    word += ch;
  }
  return words;
}

/** ENV/LABEL: `k=v` pairs as (k, v, "=") triples, or the legacy `k v w` as (k, "v w", ""). */
export function parseNameVal(rest: string, keyword: string, escapeToken: string): ParsedArgs {
  const words = parseWords(rest, escapeToken);
  const first = words[0];
  if (first === undefined) return NONE;
  if (!first.includes('=')) {
    const m = WHITESPACE.exec(rest);
    if (m === null) throw new LineParseError(`${keyword} must have two arguments`);
    return { args: [rest.slice(0, m.index), rest.slice(m.index + m[0].length), ''], json: false };
  }
  const args: string[] = [];
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq < 0) {
      throw new LineParseError(
        `Syntax error - can't find = in ${JSON.stringify(w)}. Must be of the form: name=value`,
      );
    }
    args.push(w.slice(0, eq), w.slice(eq + 1), '=');
  }
  return { args, json: false };
}

export function parseStringsWhitespaceDelimited(rest: string): ParsedArgs {
  if (rest === '') return NONE;
  return { args: rest.split(WHITESPACE), json: false };
}

export function parseString(rest: string): ParsedArgs {
  return rest === '' ? NONE : { args: [rest], json: false };
}

type JsonOutcome = { ok: true; args: string[] } | { ok: false; notStrings: boolean };

/** Exec form: a JSON array of strings. Anything else that is an array is an error, not shell form. */
export function parseJsonArray(rest: string): JsonOutcome {
  const text = trimLeftUnicodeSpace(rest);
  if (!text.startsWith('[')) return { ok: false, notStrings: false };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, notStrings: false };
  }
  if (!Array.isArray(parsed)) return { ok: false, notStrings: false };
  const args: string[] = [];
  for (const v of parsed as unknown[]) {
    if (typeof v !== 'string') return { ok: false, notStrings: true };
    args.push(v);
  }
  return { ok: true, args };
}

const NOT_STRINGS = 'when using JSON array syntax, arrays must be comprised of strings only';

export function parseMaybeJson(rest: string): ParsedArgs {
  if (rest === '') return NONE;
  const j = parseJsonArray(rest);
  if (j.ok) return { args: j.args, json: true };
  if (j.notStrings) throw new LineParseError(NOT_STRINGS);
  return { args: [rest], json: false };
}

export function parseMaybeJsonToList(rest: string): ParsedArgs {
  const j = parseJsonArray(rest);
  if (j.ok) return { args: j.args, json: true };
  if (j.notStrings) throw new LineParseError(NOT_STRINGS);
  return parseStringsWhitespaceDelimited(rest);
}

/** HEALTHCHECK: the type word, then the command (JSON or shell form) for any type. */
export function parseHealthConfig(rest: string): ParsedArgs {
  let sep = 0;
  while (sep < rest.length && !isUnicodeSpace(rest[sep])) sep++;
  let next = sep;
  while (next < rest.length && isUnicodeSpace(rest[next])) next++;
  if (sep === 0) return NONE;
  const cmd = parseMaybeJson(rest.slice(next));
  return { args: [rest.slice(0, sep), ...cmd.args], json: cmd.json };
}

/** ARG: one raw word per declaration. */
export function parseNameOrNameVal(rest: string, escapeToken: string): ParsedArgs {
  return { args: parseWords(rest, escapeToken), json: false };
}
