import { isUnicodeSpace, trimUnicodeSpace } from './unicode-space.js';

/**
 * Splits an instruction line into keyword, `--flags` and the rest. Flags are the leading words
 * that start with `--`; a bare `--` ends them. Quotes and `\` inside flags are removed here.
 */
export function splitCommand(line: string): { keyword: string; flags: string[]; rest: string } {
  const trimmed = trimUnicodeSpace(line);
  const m = /[\t\v\f\r ]+/.exec(trimmed);
  if (m === null) return { keyword: trimmed, flags: [], rest: '' };
  const keyword = trimmed.slice(0, m.index);
  const { rest, flags } = extractBuilderFlags(trimmed.slice(m.index + m[0].length));
  return { keyword, flags, rest: trimUnicodeSpace(rest) };
}

export function extractBuilderFlags(line: string): { rest: string; flags: string[] } {
  const flags: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= line.length; pos++) {
    const ch = line[pos] ?? '';
    const atEnd = pos === line.length;
    if (phase === 'spaces') {
      if (atEnd) break;
      if (isUnicodeSpace(ch)) continue;
      if (ch !== '-' || line[pos + 1] !== '-') return { rest: line.slice(pos), flags };
      phase = 'word';
    }
    if (atEnd) {
      if (word !== '--' && (blankOK || word.length > 0)) flags.push(word);
      break;
    }
    if (phase === 'word') {
      if (isUnicodeSpace(ch)) {
        phase = 'spaces';
        if (word === '--') return { rest: line.slice(pos), flags };
        if (blankOK || word.length > 0) flags.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === line.length) continue;
        pos++;
        word += line[pos] ?? '';
        continue;
      }
      word += ch;
      continue;
    }
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === '\\') {
      if (pos + 1 === line.length) {
        phase = 'word';
        continue;
      }
      pos++;
      word += line[pos] ?? '';
      continue;
    }
    word += ch;
  }
  return { rest: '', flags };
}
