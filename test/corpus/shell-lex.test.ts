import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import {
  envFromList,
  envFromRecord,
  ShellExpansionError,
  ShellLex,
} from '../../frontends/dockerfile/shell/lex.js';
import { corpusPath, readCorpusJson } from './corpus-dir.js';

interface EnvVarRow {
  line: number;
  tag: string;
  input: string;
  expected: string;
}

function readEnvVarTest(): EnvVarRow[] {
  const text = readFileSync(corpusPath('frontend', 'dockerfile', 'shell', 'envVarTest'), 'utf8');
  const rows: EnvVarRow[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [tag = '', input = '', expected = ''] = line.split('|').map((f) => f.trim());
    rows.push({ line: i + 1, tag, input, expected });
  });
  return rows;
}

interface WordsRow {
  line: number;
  input: string;
  expected: string[] | 'error';
  env: string[];
}

function readWordsTest(): WordsRow[] {
  const text = readFileSync(corpusPath('frontend', 'dockerfile', 'shell', 'wordsTest'), 'utf8');
  const env: string[] = [];
  const rows: WordsRow[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.startsWith('#') || raw.trim() === '') return;
    if (raw.startsWith('ENV ')) {
      env.push(raw.slice(4).trimStart());
      return;
    }
    const bar = raw.indexOf('|');
    const input = raw.slice(0, bar).trim();
    const right = raw.slice(bar + 1).trimStart();
    rows.push({
      line: i + 1,
      input,
      expected: right === 'error' ? 'error' : right.split(','),
      env: [...env],
    });
  });
  return rows;
}

const envVarRows = readEnvVarTest().filter((r) => r.tag === 'A' || r.tag === 'U');

describe('envVarTest (ProcessWord)', () => {
  const env = envFromList(['PWD=/home', 'SHELL=bash', 'KOREAN=한국어', 'NULL=']);
  test.each(envVarRows)('line $line: $input', (row) => {
    const lex = new ShellLex('\\');
    if (row.expected === 'error') {
      expect(() => lex.processWord(row.input, env)).toThrow(ShellExpansionError);
    } else {
      expect(lex.processWord(row.input, env)).toBe(row.expected);
    }
  });
});

describe('wordsTest (ProcessWords)', () => {
  test.each(readWordsTest())('line $line: $input', (row) => {
    const lex = new ShellLex('\\');
    const env = envFromList(row.env);
    if (row.expected === 'error') {
      expect(() => lex.processWords(row.input, env)).toThrow(ShellExpansionError);
    } else {
      expect(lex.processWords(row.input, env)).toEqual(row.expected);
    }
  });
});

interface MatchCase {
  input: string;
  envs: Record<string, string>;
  expected?: string;
  expectError?: boolean;
  matches?: string[];
  unmatched?: string[];
}

describe('process-word-with-matches', () => {
  const data = readCorpusJson<{ cases: MatchCase[] }>('derived', 'shell', 'process-word-with-matches.json');
  test.each(data.cases)('$input with $envs', (c) => {
    const lex = new ShellLex('\\');
    const env = envFromRecord(c.envs);
    if (c.expectError) {
      expect(() => lex.processWordWithMatches(c.input, env)).toThrow(ShellExpansionError);
      return;
    }
    const r = lex.processWordWithMatches(c.input, env);
    expect(r.result).toBe(c.expected);
    expect([...r.matched].sort()).toEqual([...(c.matches ?? [])].sort());
    expect([...r.unmatched].sort()).toEqual([...(c.unmatched ?? [])].sort());
  });
});

interface MiscCase {
  input: string;
  envs: string[];
  expected?: string;
  expectErrorContains?: string;
}

describe('shell misc', () => {
  const data = readCorpusJson<{ cases: MiscCase[] }>('derived', 'shell', 'misc.json');
  test.each(data.cases)('$input with $envs', (c) => {
    const lex = new ShellLex('\\');
    const env = envFromList(c.envs);
    if (c.expectErrorContains !== undefined) {
      expect(() => lex.processWord(c.input, env)).toThrow(c.expectErrorContains);
      return;
    }
    expect(lex.processWord(c.input, env)).toBe(c.expected);
  });
});

describe('lexer options', () => {
  test('backtick escape token', () => {
    expect(new ShellLex('`').processWord('a`$b', envFromList(['b=x']))).toBe('a$b');
  });
  test('skipUnsetEnv keeps unset references', () => {
    const lex = new ShellLex('\\', { skipUnsetEnv: true });
    const word = ['$A', '$' + '{B}', '$' + '{C:-d}', 'x'].join(' ');
    expect(lex.processWord(word, envFromList([]))).toBe(word);
  });
  test('rawQuotes keeps quotes but groups words', () => {
    const lex = new ShellLex('\\', { rawQuotes: true });
    expect(lex.processWords(`a "b c" 'd'`, envFromList([]))).toEqual(['a', '"b c"', "'d'"]);
  });
  test('skipProcessQuotes leaves quotes untouched', () => {
    const lex = new ShellLex('\\', { skipProcessQuotes: true });
    expect(lex.processWord(`echo '$A' "$A"`, envFromList(['A=1']))).toBe(`echo '1' "1"`);
  });
});
