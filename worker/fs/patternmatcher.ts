import { InvalidArgumentError } from '../../proto/errors.js';
import { cleanPath, dirPath } from './clean-path.js';
import { BadPatternError, filepathMatch, validateFilepathPattern } from './filepath-match.js';

export { BadPatternError, filepathMatch } from './filepath-match.js';

/**
 * moby/patternmatcher semantics (.dockerignore, file-sync include/exclude, COPY --exclude):
 * patterns are cleaned, `!` negates, the last matching pattern wins, `**` crosses directories,
 * and a path matches when it or any parent directory matches.
 */

type MatchKind =
  | { readonly type: 'exact' }
  | { readonly type: 'prefix'; readonly prefix: string }
  | { readonly type: 'suffix'; readonly suffix: string }
  | { readonly type: 'regexp'; readonly re: RegExp };

export interface CompiledPattern {
  /** The cleaned pattern without its `!`. */
  readonly pattern: string;
  readonly exclusion: boolean;
  /** The pattern split on `/`. */
  readonly dirs: readonly string[];
  readonly kind: MatchKind;
}

/** Per-pattern results for a directory, handed to its children (MatchesUsingParentResults). */
export interface MatchInfo {
  readonly parentMatched: readonly boolean[];
}

export class PatternMatcher {
  readonly patterns: readonly CompiledPattern[];
  readonly hasExclusions: boolean;

  private constructor(patterns: readonly CompiledPattern[]) {
    this.patterns = patterns;
    this.hasExclusions = patterns.some((p) => p.exclusion);
  }

  /** Compiles the patterns; throws InvalidArgumentError naming the first bad one. */
  static create(patterns: readonly string[]): PatternMatcher {
    const compiled: CompiledPattern[] = [];
    for (const raw of patterns) {
      let p = raw.trim();
      if (p === '') continue;
      p = cleanPath(p);
      let exclusion = false;
      if (p.startsWith('!')) {
        if (p.length === 1) throw new InvalidArgumentError('illegal exclusion pattern: "!"');
        exclusion = true;
        p = p.slice(1);
      }
      try {
        validateFilepathPattern(p);
        compiled.push({ pattern: p, exclusion, dirs: p.split('/'), kind: compilePattern(p) });
      } catch (err) {
        if (err instanceof BadPatternError || err instanceof SyntaxError) {
          throw new InvalidArgumentError(
            `invalid pattern ${JSON.stringify(raw.trim())}: syntax error in pattern`,
            {
              cause: err,
            },
          );
        }
        throw err;
      }
    }
    return new PatternMatcher(compiled);
  }

  /** MatchesOrParentMatches: `file` or one of its parent directories matches, after exclusions. */
  matches(file: string): boolean {
    const parentDirs = parentPrefixes(file);
    let matched = false;
    for (const p of this.patterns) {
      // An inclusion cannot change an already-matched result, nor an exclusion an unmatched one.
      if (p.exclusion !== matched) continue;
      let m = matchOne(p, file);
      if (!m) m = parentDirs.some((d) => matchOne(p, d));
      if (m) matched = !p.exclusion;
    }
    return matched;
  }

  /** Matches `file` against the patterns only, without looking at parents. */
  matchesExact(file: string): boolean {
    let matched = false;
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue;
      if (matchOne(p, file)) matched = !p.exclusion;
    }
    return matched;
  }

  /**
   * Same result as matches(), reusing the parent directory's per-pattern results during a walk.
   * Pass `undefined` for a path whose parent was not visited.
   */
  matchesUsingParentResults(
    file: string,
    parent: MatchInfo | undefined,
  ): { readonly matched: boolean; readonly info: MatchInfo } {
    const parentMatched = parent?.parentMatched ?? [];
    if (parentMatched.length !== 0 && parentMatched.length !== this.patterns.length) {
      throw new InvalidArgumentError('wrong number of values in parentMatched');
    }
    const info: boolean[] = new Array<boolean>(this.patterns.length).fill(false);
    let matched = false;
    this.patterns.forEach((p, i) => {
      let m = parentMatched[i] ?? false;
      if (!m) {
        if (p.exclusion !== matched) return;
        m = matchOne(p, file);
        if (!m && parentMatched.length === 0) m = parentPrefixes(file).some((d) => matchOne(p, d));
      }
      info[i] = m;
      if (m) matched = !p.exclusion;
    });
    return { matched, info: { parentMatched: info } };
  }

  /**
   * True when some inclusion pattern could match `dir` or something below it, so a walk that
   * only keeps included paths may skip the directory otherwise.
   */
  couldMatchUnder(dir: string): boolean {
    const clean = cleanPath(dir);
    const parts = clean === '.' ? [] : clean.split('/');
    return this.patterns.some((p) => {
      if (p.exclusion) return false;
      if (parts.length > 0 && this.matchesPattern(p, clean)) return true;
      const n = Math.min(parts.length, p.dirs.length);
      for (let i = 0; i < n; i++) {
        const pd = p.dirs[i] ?? '';
        if (pd.includes('**')) return true;
        if (!safeFilepathMatch(pd, parts[i] ?? '')) return false;
      }
      return true;
    });
  }

  private matchesPattern(p: CompiledPattern, file: string): boolean {
    return matchOne(p, file) || parentPrefixes(file).some((d) => matchOne(p, d));
  }
}

function safeFilepathMatch(pattern: string, name: string): boolean {
  try {
    return filepathMatch(pattern, name);
  } catch {
    return true;
  }
}

/** Every parent directory of `file`, shortest first: "a/b/c" → ["a", "a/b"]. */
function parentPrefixes(file: string): string[] {
  const parent = dirPath(file);
  if (parent === '.') return [];
  const parts = parent.split('/');
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

function matchOne(p: CompiledPattern, path: string): boolean {
  switch (p.kind.type) {
    case 'exact':
      return path === p.pattern;
    case 'prefix':
      return path.startsWith(p.kind.prefix);
    case 'suffix': {
      const suffix = p.kind.suffix;
      if (path.endsWith(suffix)) return true;
      // `**/foo` also matches a top-level "foo".
      return suffix.startsWith('/') && path === suffix.slice(1);
    }
    case 'regexp':
      return p.kind.re.test(path);
    default: {
      const never: never = p.kind;
      return never;
    }
  }
}

const REGEX_SYNTAX = new Set(['^', '$', '\\', '.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '/']);

function literal(ch: string, inClass: boolean): string {
  if (REGEX_SYNTAX.has(ch) || (inClass && ch === '-')) return `\\${ch}`;
  return ch;
}

/**
 * Classifies the pattern the way patternmatcher does (exact / `dir/**` prefix / `**x` suffix) and
 * otherwise builds an anchored regular expression in which `*` and `?` never cross `/`.
 */
function compilePattern(pattern: string): MatchKind {
  const chars = [...pattern];
  let src = '^';
  let type: MatchKind['type'] = 'exact';
  let inClass = false;
  for (let i = 0; i < chars.length; i++) {
    const first = i === 0;
    const ch = chars[i] ?? '';
    if (inClass) {
      if (ch === ']') {
        inClass = false;
        src += ']';
      } else if (ch === '\\' && i + 1 < chars.length) {
        i++;
        src += literal(chars[i] ?? '', true);
      } else if (ch === '-') {
        src += '-';
      } else {
        src += literal(ch, true);
      }
      continue;
    }
    if (ch === '*') {
      if (chars[i + 1] === '*') {
        i++;
        if (chars[i + 1] === '/') i++;
        if (i + 1 >= chars.length) {
          if (type === 'exact') {
            type = 'prefix';
          } else {
            src += '.*';
            type = 'regexp';
          }
        } else {
          src += '(?:.*/)?';
          type = 'regexp';
        }
        if (first) type = 'suffix';
      } else {
        src += '[^/]*';
        type = 'regexp';
      }
    } else if (ch === '?') {
      src += '[^/]';
      type = 'regexp';
    } else if (ch === '\\') {
      if (i + 1 < chars.length) {
        i++;
        src += literal(chars[i] ?? '', false);
        type = 'regexp';
      } else {
        src += '\\\\';
      }
    } else if (ch === '[') {
      inClass = true;
      src += '[';
      if (chars[i + 1] === '^') {
        i++;
        src += '^';
      }
      type = 'regexp';
    } else if (ch === ']') {
      src += '\\]';
      type = 'regexp';
    } else {
      src += literal(ch, false);
    }
  }
  switch (type) {
    case 'exact':
      return { type };
    case 'prefix':
      return { type, prefix: pattern.slice(0, -2) };
    case 'suffix':
      return { type, suffix: pattern.slice(2) };
    case 'regexp':
      return { type, re: new RegExp(`${src}$`, 'u') };
  }
}
