import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CommandOf } from '../../frontends/dockerfile/instructions/commands.js';
import { parseCommand, parseInstructions } from '../../frontends/dockerfile/instructions/parse.js';
import { parseDockerfile } from '../../frontends/dockerfile/parser/parser.js';
import { InvalidArgumentError } from '../../proto/errors.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const corpus = path.resolve(repoRoot, '..', 'shared', 'corpus', 'derived', 'instructions');
const readJson = <T>(name: string): T => JSON.parse(readFileSync(path.join(corpus, name), 'utf8')) as T;

interface ErrorCase {
  dockerfile: string;
  expectedError: string;
  exact?: boolean;
}

interface HeredocCorpus {
  copy: {
    cases: {
      dockerfile: string;
      destPath: string;
      sourcePaths: string[];
      sourceContents: { path: string; data: string; expand: boolean }[];
    }[];
  };
  run: {
    cases: {
      dockerfile: string;
      prependShell: boolean;
      cmdLine: string[];
      files: { name: string; data: string; chomp: boolean }[];
    }[];
  };
  flagsUsed: { dockerfile: string; flagsUsed: string[] }[];
  docComments: { dockerfile: string; expect: Record<string, unknown> };
}

const first = (src: string) => {
  const ast = parseDockerfile(src, { file: 'Dockerfile' });
  const node = ast.children[0];
  if (!node) throw new Error('no instruction');
  return node;
};

describe('instructions: corpus parse-errors.json', () => {
  const { cases } = readJson<{ cases: ErrorCase[] }>('parse-errors.json');
  it.each(cases)('$dockerfile', (c) => {
    const node = first(c.dockerfile);
    let err: unknown;
    try {
      parseCommand(node, 'Dockerfile');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidArgumentError);
    const message = (err as Error).message;
    if (c.exact) expect(message).toBe(c.expectedError);
    else expect(message).toContain(c.expectedError);
    expect((err as InvalidArgumentError).location).toMatchObject({ file: 'Dockerfile', line: 1 });
  });
});

describe('instructions: corpus heredoc-commands.json', () => {
  const data = readJson<HeredocCorpus>('heredoc-commands.json');
  it.each(data.copy.cases)('COPY $dockerfile', (c) => {
    const cmd = parseCommand(first(c.dockerfile), 'Dockerfile') as CommandOf<'copy'>;
    expect(cmd.kind).toBe('copy');
    expect(cmd.params.destPath).toBe(c.destPath);
    expect(cmd.params.sourcePaths).toEqual(c.sourcePaths);
    expect(cmd.params.sourceContents).toEqual(c.sourceContents);
  });
  it.each(data.run.cases)('RUN $dockerfile', (c) => {
    const cmd = parseCommand(first(c.dockerfile), 'Dockerfile') as CommandOf<'run'>;
    expect(cmd.kind).toBe('run');
    expect(cmd.prependShell).toBe(c.prependShell);
    expect(cmd.cmdLine).toEqual(c.cmdLine);
    expect(cmd.files).toEqual(c.files);
  });
  it.each(data.flagsUsed)('flags used: $dockerfile', (c) => {
    const cmd = parseCommand(first(c.dockerfile), 'Dockerfile') as CommandOf<'run'>;
    expect(cmd.flagsUsed).toEqual(c.flagsUsed);
  });
  it('doc comments on FROM and ARG', () => {
    const { stages, metaArgs } = parseInstructions(
      parseDockerfile(data.docComments.dockerfile, { file: 'Dockerfile' }),
      'Dockerfile',
    );
    const e = data.docComments.expect;
    expect(stages[0]?.docComment).toBe(e['stage0.docComment']);
    expect(metaArgs[0]?.args[0]).toMatchObject(e['meta.args[0]'] as object);
    const c0 = stages[0]?.commands[0] as CommandOf<'arg'>;
    const c1 = stages[0]?.commands[1] as CommandOf<'arg'>;
    expect(c0.args[0]).toMatchObject(e['stage0.commands[0].args[0]'] as object);
    expect(c1.args[0]).toMatchObject(e['stage0.commands[1].args[0]'] as object);
    expect(c1.args[1]).toMatchObject(e['stage0.commands[1].args[1]'] as object);
  });
});

describe('instructions: flags and errors', () => {
  const parse = (src: string) => parseCommand(first(src), 'Dockerfile');
  it('parses COPY flags with bflag semantics', () => {
    const c = parse(
      'COPY --from=build --chown=1:2 --chmod=755 --link --exclude=a --exclude=b x y',
    ) as CommandOf<'copy'>;
    expect(c).toMatchObject({ from: 'build', chown: '1:2', chmod: '755', link: true, excludes: ['a', 'b'] });
    expect((parse('COPY --link=false x y') as CommandOf<'copy'>).link).toBe(false);
  });
  it('rejects unknown, duplicate and malformed flags, naming flag and instruction', () => {
    expect(() => parse('COPY --form=a x y')).toThrow(/unknown flag: --form \(did you mean --from\?\).*COPY/);
    expect(() => parse('COPY --from=a --from=b x y')).toThrow('duplicate flag specified: --from');
    expect(() => parse('COPY --from x y')).toThrow('missing a value on flag: --from');
    expect(() => parse('COPY --link=maybe x y')).toThrow(
      'expecting boolean value for flag --link, not: maybe',
    );
  });
  it('suggests the closest instruction', () => {
    expect(() => parse('FORM scratch')).toThrow('unknown instruction: FORM (did you mean FROM?)');
  });
  it('parses HEALTHCHECK', () => {
    const h = parse(
      'HEALTHCHECK --interval=1m30s --retries=3 CMD curl -f http://x',
    ) as CommandOf<'healthcheck'>;
    expect(h.health).toMatchObject({ test: ['CMD-SHELL', 'curl -f http://x'], interval: 90e9, retries: 3 });
    expect(() => parse('HEALTHCHECK --interval=50ns CMD x')).toThrow('cannot be less than 1ms');
    expect((parse('HEALTHCHECK NONE') as CommandOf<'healthcheck'>).health.test).toEqual(['NONE']);
  });
  it('splits stages and rejects instructions before FROM', () => {
    const ast = parseDockerfile('ARG A=1\nFROM scratch AS Base\nENV X=1\nFROM base\n', {
      file: 'Dockerfile',
    });
    const { stages, metaArgs } = parseInstructions(ast, 'Dockerfile');
    expect(metaArgs).toHaveLength(1);
    expect(stages.map((s) => [s.name, s.baseName, s.commands.length])).toEqual([
      ['base', 'scratch', 1],
      ['', 'base', 0],
    ]);
    expect(() =>
      parseInstructions(parseDockerfile('ENV A=1\nFROM scratch\n', { file: 'Dockerfile' }), 'Dockerfile'),
    ).toThrow('no build stage in current context');
    expect(() =>
      parseInstructions(parseDockerfile('FROM scratch AS 1x\n', { file: 'Dockerfile' }), 'Dockerfile'),
    ).toThrow('invalid name for build stage');
  });
});
