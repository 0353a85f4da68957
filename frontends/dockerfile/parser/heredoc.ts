import { ShellLex } from '../shell/lex.js';
import type { Heredoc } from './ast.js';

/** Heredoc delimiters (`<<EOF`, `<<-EOF`, `3<<"EOF"`) as BuildKit recognises them. */

const HEREDOC_RE = /^(\d*)<<(-?)\s*([^<]*)$/;
const NO_ENV = (): undefined => undefined;

export type HeredocHeader = Omit<Heredoc, 'content'>;

/**
 * Parses one already-split word. Returns undefined when the word is not a heredoc; throws when
 * it is one with unbalanced quotes. Quoting any part of the delimiter disables expansion.
 */
export function parseHeredoc(word: string): HeredocHeader | undefined {
  const m = HEREDOC_RE.exec(word);
  if (m === null) return undefined;
  const rest = m[3] ?? '';
  if (rest === '') return undefined;
  const plain = new ShellLex('\\', { skipUnsetEnv: true }).processWords(rest, NO_ENV);
  if (plain.length !== 1) return undefined;
  const raw = new ShellLex('\\', { skipUnsetEnv: true, rawQuotes: true }).processWords(rest, NO_ENV);
  if (raw.length !== plain.length) {
    throw new Error(`internal lexing of heredoc produced inconsistent results: ${rest}`);
  }
  const name = plain[0] ?? '';
  const quotes = (s: string) => (s.match(/['"]/g) ?? []).length;
  return {
    name,
    fileDescriptor: Number.parseInt(m[1] || '0', 10),
    expand: quotes(name) === quotes(raw[0] ?? ''),
    chomp: m[2] === '-',
  };
}

/** Every heredoc started on an instruction line, in order. */
export function heredocsFromLine(line: string): HeredocHeader[] {
  const lex = new ShellLex('\\', { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
  let words: string[];
  try {
    words = lex.processWords(line, NO_ENV);
  } catch {
    // BuildKit ignores lexing errors here: such a line simply starts no heredoc.
    words = [];
  }
  const out: HeredocHeader[] = [];
  for (const w of words) {
    const h = parseHeredoc(w);
    if (h) out.push(h);
  }
  return out;
}

/** `<<-` semantics: leading tabs removed from every line. */
export function chompHeredocContent(content: string): string {
  return content.replace(/^\t+/gm, '');
}
