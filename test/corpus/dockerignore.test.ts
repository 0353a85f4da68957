import { describe, expect, test } from 'vitest';
import {
  ignoreFileCandidates,
  loadIgnorePatterns,
  parseIgnoreFile,
} from '../../frontends/dockerfile/dockerignore/index.js';
import { PatternMatcher } from '../../worker/fs/patternmatcher.js';
import { readCorpusJson } from './corpus-dir.js';

interface Misc {
  ignorefileReadAll: { input: string; expected: string[] };
}

describe('ignorefile ReadAll', () => {
  const data = readCorpusJson<Misc>('derived', 'patternmatcher', 'misc.json').ignorefileReadAll;
  test('corpus input', () => {
    expect(parseIgnoreFile(data.input)).toEqual(data.expected);
  });
  test('BOM stripped, CRLF handled, nothing yields nothing', () => {
    expect(parseIgnoreFile('\ufeff# c\r\nnode_modules\r\n  # not a comment\r\n')).toEqual([
      'node_modules',
      '# not a comment',
    ]);
    expect(parseIgnoreFile('')).toEqual([]);
    expect(parseIgnoreFile(new TextEncoder().encode('a/../b\n/\n'))).toEqual(['b', '/']);
  });
  test('patterns feed the matcher', () => {
    const pm = PatternMatcher.create(parseIgnoreFile('*.log\n!keep.log\nbuild/\n'));
    expect(pm.matches('a.log')).toBe(true);
    expect(pm.matches('keep.log')).toBe(false);
    expect(pm.matches('build/out/x')).toBe(true);
  });
});

describe('ignore file selection', () => {
  test('candidates', () => {
    expect(ignoreFileCandidates('sub/app.Dockerfile')).toEqual([
      'app.Dockerfile.dockerignore',
      '.dockerignore',
    ]);
    expect(ignoreFileCandidates(undefined)).toEqual(['.dockerignore']);
  });
  test('specific file wins, falls back to .dockerignore', async () => {
    const files = new Map<string, string>([
      ['.dockerignore', 'a\n'],
      ['Dockerfile.dockerignore', 'b\n'],
    ]);
    const read = async (name: string) => files.get(name);
    const signal = new AbortController().signal;
    expect(await loadIgnorePatterns(read, 'Dockerfile', signal)).toEqual({
      name: 'Dockerfile.dockerignore',
      patterns: ['b'],
    });
    expect(await loadIgnorePatterns(read, 'other.Dockerfile', signal)).toEqual({
      name: '.dockerignore',
      patterns: ['a'],
    });
    files.clear();
    expect(await loadIgnorePatterns(read, 'Dockerfile', signal)).toEqual({ name: undefined, patterns: [] });
  });
});
