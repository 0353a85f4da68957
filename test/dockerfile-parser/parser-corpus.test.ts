import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { ParseResult } from '../../frontends/dockerfile/parser/ast.js';
import {
  chompHeredocContent,
  heredocsFromLine,
  parseHeredoc,
} from '../../frontends/dockerfile/parser/heredoc.js';
import { parseJsonArray, parseWords } from '../../frontends/dockerfile/parser/line-parsers.js';
import {
  detectSyntax,
  dumpAst,
  parseDirective,
  parseDockerfile,
} from '../../frontends/dockerfile/parser/parser.js';
import { InvalidArgumentError } from '../../proto/errors.js';
import { corpusPath, readCorpusJson } from '../corpus/corpus-dir.js';

const parserDir = corpusPath('frontend', 'dockerfile', 'parser');

describe('parser testfiles (AST dump)', () => {
  const cases = readdirSync(`${parserDir}/testfiles`).sort();
  test.each(cases)('%s', (name) => {
    const dockerfile = readFileSync(`${parserDir}/testfiles/${name}/Dockerfile`);
    const expected = readFileSync(`${parserDir}/testfiles/${name}/result`, 'utf8');
    expect(dumpAst(parseDockerfile(dockerfile))).toBe(expected);
  });
});

describe('parser testfiles-negative', () => {
  const cases = readdirSync(`${parserDir}/testfiles-negative`).sort();
  test.each(cases)('%s', (name) => {
    const dockerfile = readFileSync(`${parserDir}/testfiles-negative/${name}/Dockerfile`);
    expect(() => parseDockerfile(dockerfile, { file: name })).toThrow(InvalidArgumentError);
  });
});

interface Misc {
  lineNumbers: { rootStartLine: number; rootEndLine: number; children: [number, number][] };
  emptyContinuationWarnings: { dockerfile: string };
  maxLineLength: { dockerfile: string; expectError: string };
  parseWords: { cases: { input: string; expect: string[] }[] };
  jsonArrays: { valid: { input: string; expect: string[] }[]; invalid: string[] };
  nameVal: { cases: { instruction: string; args: string; nodes?: string[]; expectError?: boolean }[] };
  directives: {
    escape: { dockerfile: string; expect: { name: string; value: string }[] }[];
    detectSyntax: { dockerfile: string; found: boolean; ref?: string; cmdline?: string; line?: number }[];
    parseDirectiveCheck: {
      dockerfile: string;
      found: boolean;
      value?: string;
      cmdline?: string;
      line?: number;
    }[];
  };
}

const misc = readCorpusJson<Misc>('derived', 'parser', 'misc.json');

describe('parser misc', () => {
  test('testfile-line line numbers', () => {
    const r = parseDockerfile(readFileSync(`${parserDir}/testfile-line/Dockerfile`));
    expect(r.startLine).toBe(misc.lineNumbers.rootStartLine);
    expect(r.endLine).toBe(misc.lineNumbers.rootEndLine);
    expect(r.children.map((c) => [c.startLine, c.endLine])).toEqual(misc.lineNumbers.children);
  });

  test('empty continuation warnings', () => {
    const r = parseDockerfile(misc.emptyContinuationWarnings.dockerfile);
    expect(r.warnings).toHaveLength(2);
    expect(r.warnings[0]?.short).toContain('Empty continuation line found in');
    expect(r.warnings[0]?.short).toContain('RUN something     following     more');
    expect(r.warnings[1]?.short).toContain('RUN another     thing');
    expect(r.warnings[0]?.detail).toContain('will become errors in a future release');
  });

  test('max line length', () => {
    const df = misc.maxLineLength.dockerfile.replace('<65536 x "a">', 'a'.repeat(65536));
    expect(() => parseDockerfile(df)).toThrow(misc.maxLineLength.expectError);
  });

  test.each(misc.parseWords.cases)('parseWords $input', (c) => {
    expect(parseWords(c.input, '\\')).toEqual(c.expect);
  });

  test.each(misc.jsonArrays.valid)('valid JSON array $input', (c) => {
    expect(parseJsonArray(c.input)).toEqual({ ok: true, args: c.expect });
  });

  test.each(misc.jsonArrays.invalid)('invalid JSON array %s', (input) => {
    expect(parseJsonArray(input).ok).toBe(false);
    expect(() => parseDockerfile(`FROM x\nCMD ${input}\n`)).toThrow(InvalidArgumentError);
  });

  test.each(misc.nameVal.cases)('$instruction $args', (c) => {
    const df = `FROM x\n${c.instruction} ${c.args}\n`;
    if (c.expectError) {
      expect(() => parseDockerfile(df)).toThrow(InvalidArgumentError);
      return;
    }
    expect(parseDockerfile(df).children[1]?.args).toEqual(c.nodes);
  });

  test.each(misc.directives.escape)('escape directive %#', (c) => {
    const r = parseDockerfile(`${c.dockerfile}FROM x\n`);
    for (const d of c.expect) expect(r.directives[d.name as 'escape']).toBe(d.value);
    expect(r.escapeToken).toBe('\\');
  });

  test.each(misc.directives.detectSyntax)('detectSyntax %#', (c) => {
    const d = detectSyntax(c.dockerfile);
    expect(d !== undefined).toBe(c.found);
    if (!d) return;
    if (c.ref !== undefined) expect(d.value).toBe(c.ref);
    if (c.cmdline !== undefined) expect(d.cmdline).toBe(c.cmdline);
    if (c.line !== undefined) expect(d.line).toBe(c.line);
  });

  test.each(misc.directives.parseDirectiveCheck)('check directive %#', (c) => {
    const d = parseDirective('check', c.dockerfile);
    expect(d !== undefined).toBe(c.found);
    if (!d) return;
    if (c.value !== undefined) expect(d.value).toBe(c.value);
    if (c.cmdline !== undefined) expect(d.cmdline).toBe(c.cmdline);
    if (c.line !== undefined) expect(d.line).toBe(c.line);
  });
});

interface HeredocExpect {
  name: string;
  content: string;
  expand: boolean;
  chomp: boolean;
  fileDescriptor: number;
}

describe('heredoc extraction', () => {
  const data = readCorpusJson<{ expected: (HeredocExpect[] | null)[] }>(
    'derived',
    'parser',
    'heredoc-extract.json',
  );
  let parsed: ParseResult | undefined;
  const get = () => {
    parsed ??= parseDockerfile(readFileSync(corpusPath('derived', 'parser', 'heredoc-extract.Dockerfile')));
    return parsed;
  };
  test('child count', () => {
    expect(get().children).toHaveLength(data.expected.length + 1);
  });
  test.each(data.expected.map((e, i) => ({ i: i + 1, e })))('child $i', ({ i, e }) => {
    const child = get().children[i];
    expect(child?.heredocs ?? []).toEqual(e ?? []);
  });
});

interface HeredocMisc {
  jsonFormNoHeredoc: { dockerfile: string };
  chomp: { input: string; expected: string }[];
  parseHeredocWord: { valid: string[]; invalid: string[]; notHeredoc: string[] };
  heredocNamesFromLine: { line: string; names: string[] }[];
}

describe('heredoc misc', () => {
  const data = readCorpusJson<HeredocMisc>('derived', 'parser', 'heredoc-misc.json');
  test('JSON form never starts a heredoc', () => {
    const r = parseDockerfile(data.jsonFormNoHeredoc.dockerfile);
    for (const c of r.children.slice(1)) expect(c.heredocs).toEqual([]);
    expect(r.children).toHaveLength(4);
  });
  test.each(data.chomp)('chomp %#', (c) => {
    expect(chompHeredocContent(c.input)).toBe(c.expected);
  });
  test.each(data.parseHeredocWord.valid)('valid heredoc word %s', (w) => {
    expect(parseHeredoc(w)?.name).toBe('EOF');
  });
  test.each(data.parseHeredocWord.invalid)('invalid heredoc word %s', (w) => {
    expect(() => parseHeredoc(w)).toThrow();
  });
  test.each(data.parseHeredocWord.notHeredoc)('not a heredoc %j', (w) => {
    expect(parseHeredoc(w)).toBeUndefined();
  });
  test.each(data.heredocNamesFromLine)('names in $line', (c) => {
    expect(heredocsFromLine(c.line).map((h) => h.name)).toEqual(c.names);
  });
});

describe('parser errors carry locations', () => {
  test('unterminated heredoc', () => {
    try {
      parseDockerfile('FROM x\nRUN <<EOF\necho hi\n', { file: 'Dockerfile.dev' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidArgumentError);
      const e = err as InvalidArgumentError;
      expect(e.message).toContain('unterminated heredoc');
      expect(e.location).toEqual({ file: 'Dockerfile.dev', line: 2, text: 'RUN <<EOF' });
    }
  });
  test('ENV without value', () => {
    expect(() => parseDockerfile('FROM x\n\nENV PATH\n')).toThrow(/ENV must have two arguments/);
    try {
      parseDockerfile('FROM x\n\nENV PATH\n');
    } catch (err) {
      expect((err as InvalidArgumentError).location?.line).toBe(3);
    }
  });
  test('empty file', () => {
    expect(() => parseDockerfile('')).toThrow(/file with no instructions/);
  });
  test('duplicate directive', () => {
    expect(() => parseDockerfile('# escape=`\n# escape=\\\nFROM x\n')).toThrow(/only one escape/);
  });
  test('prevComment and ONBUILD trigger', () => {
    const r = parseDockerfile('FROM x\n# the answer\n# more\nARG A=42\nONBUILD RUN echo hi\n');
    expect(r.children[1]?.prevComment).toEqual(['the answer', 'more']);
    expect(r.children[2]?.trigger?.keyword).toBe('run');
    expect(r.children[2]?.trigger?.args).toEqual(['echo hi']);
  });
  test('heredoc on ONBUILD and several per line', () => {
    const r = parseDockerfile('FROM x\nONBUILD COPY <<A <<-"B" /dst\na\nA\n\tb\n\tB\n');
    expect(r.children[1]?.heredocs).toEqual([
      { name: 'A', fileDescriptor: 0, expand: true, chomp: false, content: 'a\n' },
      { name: 'B', fileDescriptor: 0, expand: false, chomp: true, content: '\tb\n' },
    ]);
    expect(r.endLine).toBe(6);
  });
});
