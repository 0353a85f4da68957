import { InvalidArgumentError } from '../../../proto/errors.js';
import { isUnicodeSpace } from '../parser/unicode-space.js';
import {
  ShellPatternError,
  shellPatternToRegExp,
  trimPrefixPattern,
  trimSuffixPattern,
} from './shell-pattern.js';

/**
 * BuildKit's shell-word expansion (frontend/dockerfile/shell/lex.go): quote removal, escapes and
 * `$VAR` / `${VAR<op>word}` substitution, optionally split into words. It is not a shell: no
 * command substitution, globbing or arithmetic.
 */

/** Looks a variable up; `undefined` means unset (an empty string is set-but-empty). */
export type EnvGetter = (name: string) => string | undefined;

/** Builds an EnvGetter from `KEY=value` entries; a bare `KEY` is set and empty; the last wins. */
export function envFromList(entries: readonly string[]): EnvGetter {
  const map = new Map<string, string>();
  for (const e of entries) {
    const i = e.indexOf('=');
    if (i < 0) map.set(e, '');
    else map.set(e.slice(0, i), e.slice(i + 1));
  }
  return (name) => map.get(name);
}

export function envFromRecord(
  env: Readonly<Record<string, string>> | ReadonlyMap<string, string>,
): EnvGetter {
  if (env instanceof Map) return (name) => env.get(name);
  const rec = env as Readonly<Record<string, string>>;
  return (name) => (Object.hasOwn(rec, name) ? rec[name] : undefined);
}

export interface ShellLexOptions {
  /** Keep quote characters in the output (quotes still group words). */
  readonly rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  readonly rawEscapes?: boolean;
  /** Leave quotes alone entirely (heredoc bodies: quotes belong to the script). */
  readonly skipProcessQuotes?: boolean;
  /** Leave references to unset variables as written instead of expanding them to "". */
  readonly skipUnsetEnv?: boolean;
}

export interface ProcessResult {
  readonly result: string;
  readonly words: readonly string[];
  /** Variables looked up and found. */
  readonly matched: Set<string>;
  /** Variables looked up and not found. */
  readonly unmatched: Set<string>;
}

/** A word that cannot be expanded: bad substitution, unterminated quote, `${v:?msg}` … */
export class ShellExpansionError extends InvalidArgumentError {
  readonly word: string;
  readonly reason: string;
  constructor(word: string, reason: string) {
    super(`failed to process ${JSON.stringify(word)}: ${reason}`);
    this.name = 'ShellExpansionError';
    this.word = word;
    this.reason = reason;
  }
}

/** Internal failure; wrapped with the whole word at the top. */
class LexFailure extends Error {}

export class ShellLex {
  readonly escapeToken: '\\' | '`';
  readonly options: ShellLexOptions;

  constructor(escapeToken: '\\' | '`' = '\\', options: ShellLexOptions = {}) {
    this.escapeToken = escapeToken;
    this.options = options;
  }

  /** Single-word expansion: quotes removed, no field splitting. */
  processWord(word: string, env: EnvGetter): string {
    return this.process(word, env).result;
  }

  /** Expansion then splitting on unquoted whitespace (also inside unquoted expansions). */
  processWords(word: string, env: EnvGetter): string[] {
    return [...this.process(word, env).words];
  }

  processWordWithMatches(
    word: string,
    env: EnvGetter,
  ): { result: string; matched: Set<string>; unmatched: Set<string> } {
    const r = this.process(word, env);
    return { result: r.result, matched: r.matched, unmatched: r.unmatched };
  }

  process(word: string, env: EnvGetter): ProcessResult {
    const state = new ShellWord(this, [...word], env);
    try {
      const { result, words } = state.processStopOn(undefined, this.options.rawEscapes ?? false);
      return { result, words, matched: state.matched, unmatched: state.unmatched };
    } catch (err) {
      if (err instanceof LexFailure || err instanceof ShellPatternError) {
        throw new ShellExpansionError(word, err.message);
      }
      throw err;
    }
  }
}

class WordCollector {
  private word = '';
  private inWord = false;
  readonly words: string[] = [];

  addChar(ch: string): void {
    if (isUnicodeSpace(ch)) {
      if (this.inWord && this.word.length !== 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else {
      this.addRawChar(ch);
    }
  }

  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }

  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }

  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }

  finish(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);
const DIGIT = /^\p{Nd}$/u;
const LETTER = /^\p{L}$/u;

/** One expansion run over a word, code point by code point. */
class ShellWord {
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();
  private pos = 0;
  private rawEscapes: boolean;

  constructor(
    private readonly lex: ShellLex,
    private readonly chars: readonly string[],
    private readonly env: EnvGetter,
  ) {
    this.rawEscapes = lex.options.rawEscapes ?? false;
  }

  private peek(): string | undefined {
    return this.chars[this.pos];
  }

  private next(): string | undefined {
    const ch = this.chars[this.pos];
    if (ch !== undefined) this.pos++;
    return ch;
  }

  private getEnv(name: string): string | undefined {
    const v = this.env(name);
    if (v === undefined) this.unmatched.add(name);
    else this.matched.add(name);
    return v;
  }

  /** Processes until `stopChar` (consumed) or the end of the word when it is undefined. */
  processStopOn(stopChar: string | undefined, rawEscapes: boolean): { result: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      return this.processStopOnInner(stopChar);
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processStopOnInner(stopChar: string | undefined): { result: string; words: string[] } {
    let result = '';
    const words = new WordCollector();
    const processQuotes = !this.lex.options.skipProcessQuotes;
    const esc = this.lex.escapeToken;
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (stopChar !== undefined && ch === stopChar) {
        this.next();
        return { result, words: words.finish() };
      }
      if (ch === '$') {
        const tmp = this.processDollar();
        result += tmp;
        words.addString(tmp);
      } else if (processQuotes && (ch === "'" || ch === '"')) {
        const tmp = ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
        result += tmp;
        words.addRawString(tmp);
      } else if (ch === '<') {
        const tmp = this.processPossibleHeredoc();
        result += tmp;
        words.addRawString(tmp);
      } else {
        let c = this.next() ?? '';
        if (c === esc) {
          if (this.rawEscapes) {
            words.addRawChar(c);
            result += c;
          }
          const escaped = this.next();
          if (escaped === undefined) break;
          c = escaped;
          words.addRawChar(c);
        } else {
          words.addChar(c);
        }
        result += c;
      }
    }
    if (stopChar !== undefined) {
      throw new LexFailure(`unexpected end of statement while looking for matching ${stopChar}`);
    }
    return { result, words: words.finish() };
  }

  /** `<<` keeps the whitespace after it so `<< EOF` stays one word for heredoc detection. */
  private processPossibleHeredoc(): string {
    this.next();
    if (this.peek() !== '<') return '<';
    this.next();
    let out = '<<';
    if (this.peek() === '-') out += this.next();
    while (this.peek() === ' ' || this.peek() === '\t') out += this.next();
    return out;
  }

  private processSingleQuote(): string {
    const raw = this.lex.options.rawQuotes ?? false;
    let result = '';
    const open = this.next() ?? '';
    if (raw) result += open;
    for (;;) {
      const ch = this.next();
      if (ch === undefined)
        throw new LexFailure('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") {
        if (raw) result += ch;
        return result;
      }
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    const raw = this.lex.options.rawQuotes ?? false;
    const esc = this.lex.escapeToken;
    let result = '';
    const open = this.next() ?? '';
    if (raw) result += open;
    for (;;) {
      const p = this.peek();
      if (p === undefined)
        throw new LexFailure('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        this.next();
        if (raw) result += p;
        return result;
      }
      if (p === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.next() ?? '';
      if (ch === esc) {
        if (this.rawEscapes) result += ch;
        const after = this.peek();
        if (after === undefined) continue;
        // Inside double quotes only these can be escaped; other escapes stay literal.
        if (after === '"' || after === '$' || after === esc) ch = this.next() ?? '';
      }
      result += ch;
    }
  }

  private processDollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const value = this.getEnv(name);
      if (value === undefined && this.lex.options.skipUnsetEnv) return `$${name}`;
      return value ?? '';
    }
    this.next();
    const first = this.peek();
    if (first === undefined) throw new LexFailure("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':')
      throw new LexFailure('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.next();
    let chs = ch ?? '';
    let nullIsUnset = false;
    const skipUnset = this.lex.options.skipUnsetEnv ?? false;

    if (ch === '}') {
      const value = this.getEnv(name);
      if (value === undefined && skipUnset) return `\${${name}}`;
      return value ?? '';
    }
    if (ch === ':') {
      nullIsUnset = true;
      ch = this.next();
      chs += ch ?? '';
    }
    if (ch === undefined) throw new LexFailure("syntax error: missing '}'");
    if (nullIsUnset || ch === '+' || ch === '-' || ch === '?' || ch === '#' || ch === '%') {
      const word = this.stopOnOrMissing('}', ch === '#' || ch === '%', "syntax error: missing '}'");
      const value = this.getEnv(name);
      if (skipUnset && value === undefined) return `\${${name}${chs}${word}}`;
      const unsetLike = value === undefined || (nullIsUnset && value === '');
      switch (ch) {
        case '-':
          return unsetLike ? word : (value ?? '');
        case '+':
          return unsetLike ? '' : word;
        case '?':
          if (value === undefined)
            throw new LexFailure(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`);
          if (nullIsUnset && value === '') {
            throw new LexFailure(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`);
          }
          return value;
        case '%':
        case '#': {
          if (nullIsUnset) break;
          const greedy = word.startsWith(ch);
          const pattern = greedy ? word.slice(1) : word;
          return ch === '%'
            ? trimSuffixPattern(pattern, value ?? '', greedy)
            : trimPrefixPattern(pattern, value ?? '', greedy);
        }
      }
      throw new LexFailure(`unsupported modifier (${chs}) in substitution`);
    }
    if (ch === '/') {
      const replaceAll = this.peek() === '/';
      if (replaceAll) this.next();
      const pattern = this.stopOnOrMissing('/', true, `syntax error: missing '/' in \${}`);
      const replacement = this.stopOnOrMissing('}', true, "syntax error: missing '}'");
      const value = this.getEnv(name);
      if (skipUnset && value === undefined) return `\${${name}/${pattern}/${replacement}}`;
      const re = shellPatternToRegExp(pattern, true, false, replaceAll);
      return (value ?? '').replace(re, () => replacement);
    }
    throw new LexFailure(`unsupported modifier (${chs}) in substitution`);
  }

  private stopOnOrMissing(stop: string, rawEscapes: boolean, missing: string): string {
    try {
      return this.processStopOn(stop, rawEscapes).result;
    } catch (err) {
      if (err instanceof LexFailure && this.peek() === undefined) throw new LexFailure(missing);
      throw err;
    }
  }

  /** A name (letters, digits, `_`), a run of digits (positional), or one special parameter. */
  private processName(): string {
    let name = '';
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (name === '' && DIGIT.test(ch)) {
        for (let d = this.peek(); d !== undefined && DIGIT.test(d); d = this.peek()) name += this.next();
        return name;
      }
      if (name === '' && SPECIAL_PARAMS.has(ch)) return this.next() ?? '';
      if (!LETTER.test(ch) && !DIGIT.test(ch) && ch !== '_') break;
      name += this.next();
    }
    return name;
  }
}
