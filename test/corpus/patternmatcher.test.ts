import { describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '../../proto/errors.js';
import { filepathMatch, PatternMatcher } from '../../worker/fs/patternmatcher.js';
import { readCorpusJson } from './corpus-dir.js';

interface SingleCase {
  pattern: string;
  path: string;
  match: boolean;
}
interface MultiCase {
  patterns: string[];
  path: string;
  match: boolean;
}
interface FilepathCase {
  pattern: string;
  path: string;
  match: boolean;
  error: string | null;
}
interface CompileCase {
  pattern: string;
  matchType: string;
  regexp: string | null;
}
interface Matches {
  single: SingleCase[];
  single_nonwindows: SingleCase[];
  multi: MultiCase[];
  filepath_match: FilepathCase[];
  compile: CompileCase[];
}
interface LegacyCase {
  path: string;
  patterns: string[];
  match?: boolean;
  expectError?: boolean;
}
interface CtorCase {
  patterns: string[];
  cleanedPatternCount?: number;
  hasExclusions?: boolean;
  expectError?: boolean;
  newSucceeds?: boolean;
}
interface Misc {
  matchesLegacy: LegacyCase[];
  newPatternMatcher: CtorCase[];
}

const matches = readCorpusJson<Matches>('derived', 'patternmatcher', 'matches.json');
const misc = readCorpusJson<Misc>('derived', 'patternmatcher', 'misc.json');

/** Walks every parent directory first, as a file-sync walker would. */
function matchByWalking(pm: PatternMatcher, file: string): boolean {
  const parts = file.split('/').filter((p) => p !== '');
  let info: { parentMatched: readonly boolean[] } | undefined;
  let matched = false;
  for (let i = 0; i < parts.length; i++) {
    const r = pm.matchesUsingParentResults(parts.slice(0, i + 1).join('/'), info);
    info = r.info;
    matched = r.matched;
  }
  return matched;
}

describe('patternmatcher single', () => {
  test.each([...matches.single, ...matches.single_nonwindows])('$pattern ~ $path', (c) => {
    const pm = PatternMatcher.create([c.pattern]);
    expect(pm.matches(c.path)).toBe(c.match);
    expect(pm.matchesUsingParentResults(c.path, undefined).matched).toBe(c.match);
    if (!c.path.startsWith('/')) expect(matchByWalking(pm, c.path)).toBe(c.match);
  });
});

describe('patternmatcher multi', () => {
  test.each(matches.multi)('$patterns ~ $path', (c) => {
    const pm = PatternMatcher.create(c.patterns);
    expect(pm.matches(c.path)).toBe(c.match);
    expect(matchByWalking(pm, c.path)).toBe(c.match);
  });
});

/** The package-level legacy Matches(): cleans the path and never matches ".". */
function legacyMatches(file: string, patterns: string[]): boolean {
  const pm = PatternMatcher.create(patterns);
  const clean = file.replace(/\/+$/, '');
  if (clean === '.' || clean === '') return false;
  return pm.matches(clean);
}

describe('patternmatcher filepath.Match conformance', () => {
  test.each(matches.filepath_match)('$pattern ~ $path', (c) => {
    if (c.error !== null) {
      expect(() => PatternMatcher.create([c.pattern])).toThrow(InvalidArgumentError);
      expect(() => filepathMatch(c.pattern, c.path)).toThrow();
      return;
    }
    expect(legacyMatches(c.path, [c.pattern])).toBe(c.match);
  });
});

describe('patternmatcher compile classification', () => {
  test.each(matches.compile)('$pattern is $matchType', (c) => {
    const [p] = PatternMatcher.create([c.pattern]).patterns;
    const kinds: Record<string, string> = {
      exact: 'exactMatch',
      prefix: 'prefixMatch',
      suffix: 'suffixMatch',
      regexp: 'regexpMatch',
    };
    expect(kinds[p?.kind.type ?? '']).toBe(c.matchType);
  });
});

describe('patternmatcher legacy Matches', () => {
  test.each(misc.matchesLegacy)('$patterns ~ $path', (c) => {
    if (c.expectError) {
      expect(() => legacyMatches(c.path, c.patterns)).toThrow(InvalidArgumentError);
      return;
    }
    expect(legacyMatches(c.path, c.patterns)).toBe(c.match);
  });
});

describe('patternmatcher constructor', () => {
  test.each(misc.newPatternMatcher)('$patterns', (c) => {
    if (c.expectError) {
      expect(() => PatternMatcher.create(c.patterns)).toThrow(InvalidArgumentError);
      return;
    }
    if (c.newSucceeds) {
      // Kiln compiles eagerly: the bad regexp is reported by create() (upstream reports it on
      // every match call instead). Either way it is an error, repeatably, and never a crash.
      expect(() => PatternMatcher.create(c.patterns)).toThrow(InvalidArgumentError);
      expect(() => PatternMatcher.create(c.patterns)).toThrow(/Local-Only/);
      return;
    }
    const pm = PatternMatcher.create(c.patterns);
    if (c.cleanedPatternCount !== undefined) expect(pm.patterns.length).toBe(c.cleanedPatternCount);
    if (c.hasExclusions !== undefined) expect(pm.hasExclusions).toBe(c.hasExclusions);
  });
});

describe('filepathMatch and couldMatchUnder', () => {
  test.each([
    ['*.go', 'a.go', true],
    ['*', 'a/b', false],
    ['a/*/c', 'a/b/c', true],
    ['[a-c]?', 'bz', true],
    ['\\*', '*', true],
  ] as const)('filepathMatch(%s, %s) = %s', (p, n, want) => {
    expect(filepathMatch(p, n)).toBe(want);
  });

  test.each([
    [['src/**/*.ts'], 'src/a/b', true],
    [['src/*.ts'], 'lib', false],
    [['src/*.ts'], 'src', true],
    [['src'], 'src/deep/er', true],
    [['a/b/c'], 'a/x', false],
    [['**/*.ts'], 'any', true],
    [['!src'], 'src', false],
  ] as const)('couldMatchUnder(%j, %s) = %s', (patterns, dir, want) => {
    expect(PatternMatcher.create(patterns).couldMatchUnder(dir)).toBe(want);
  });
});
