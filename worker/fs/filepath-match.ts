/**
 * Go's path/filepath.Match for `/`-separated paths, as BuildKit uses it for COPY wildcards and to
 * validate .dockerignore patterns. Works on code points so `?` and classes see whole runes.
 */

/** Raised for a syntactically bad pattern (Go's filepath.ErrBadPattern). */
export class BadPatternError extends Error {
  constructor(readonly pattern: string) {
    super(`syntax error in pattern: ${JSON.stringify(pattern)}`);
    this.name = 'BadPatternError';
  }
}

const BAD = Symbol('bad-pattern');
type ChunkResult = { rest: string[] } | null | typeof BAD;

/**
 * Reports whether `name` matches the shell pattern. `*` and `?` never match `/`; `[...]` classes
 * with `^` negation and ranges; `\` escapes. Throws BadPatternError for a malformed pattern, even
 * when the name already failed to match (like Go, which validates the rest of the pattern).
 */
export function filepathMatch(pattern: string, name: string): boolean {
  const r = matchCodePoints([...pattern], [...name]);
  if (r === BAD) throw new BadPatternError(pattern);
  return r;
}

/** Throws BadPatternError when `pattern` is not a valid filepath.Match pattern. */
export function validateFilepathPattern(pattern: string): void {
  filepathMatch(pattern, '.');
}

function matchCodePoints(patternIn: string[], nameIn: string[]): boolean | typeof BAD {
  let pattern = patternIn;
  let name = nameIn;
  outer: while (pattern.length > 0) {
    const { star, chunk, rest } = scanChunk(pattern);
    pattern = rest;
    if (star && chunk.length === 0) return !name.includes('/');
    const first = matchChunk(chunk, name);
    if (first === BAD) return BAD;
    if (first !== null && (first.rest.length === 0 || pattern.length > 0)) {
      name = first.rest;
      continue;
    }
    if (star) {
      for (let i = 0; i < name.length && name[i] !== '/'; i++) {
        const t = matchChunk(chunk, name.slice(i + 1));
        if (t === BAD) return BAD;
        if (t !== null) {
          if (pattern.length === 0 && t.rest.length > 0) continue;
          name = t.rest;
          continue outer;
        }
      }
    }
    while (pattern.length > 0) {
      const next = scanChunk(pattern);
      pattern = next.rest;
      if (matchChunk(next.chunk, []) === BAD) return BAD;
    }
    return false;
  }
  return name.length === 0;
}

function scanChunk(patternIn: string[]): { star: boolean; chunk: string[]; rest: string[] } {
  let pattern = patternIn;
  let star = false;
  while (pattern.length > 0 && pattern[0] === '*') {
    pattern = pattern.slice(1);
    star = true;
  }
  let inRange = false;
  let i = 0;
  scan: for (; i < pattern.length; i++) {
    switch (pattern[i]) {
      case '\\':
        if (i + 1 < pattern.length) i++;
        break;
      case '[':
        inRange = true;
        break;
      case ']':
        inRange = false;
        break;
      case '*':
        if (!inRange) break scan;
        break;
    }
  }
  return { star, chunk: pattern.slice(0, i), rest: pattern.slice(i) };
}

function matchChunk(chunkIn: string[], sIn: string[]): ChunkResult {
  let chunk = chunkIn;
  let s = sIn;
  // After a mismatch Go keeps walking the chunk to report syntax errors, without reading s.
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    const c = chunk[0];
    if (c === '[') {
      let r = -1;
      if (!failed) {
        r = s[0]?.codePointAt(0) ?? -1;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
      let negated = false;
      if (chunk[0] === '^') {
        negated = true;
        chunk = chunk.slice(1);
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (chunk[0] === ']' && nrange > 0) {
          chunk = chunk.slice(1);
          break;
        }
        const lo = getEsc(chunk);
        if (lo === BAD) return BAD;
        chunk = lo.rest;
        let hi = lo.rune;
        if (chunk[0] === '-') {
          const h = getEsc(chunk.slice(1));
          if (h === BAD) return BAD;
          chunk = h.rest;
          hi = h.rune;
        }
        if (lo.rune <= r && r <= hi) match = true;
        nrange++;
      }
      if (match === negated) failed = true;
    } else if (c === '?') {
      if (!failed) {
        if (s[0] === '/') failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    } else {
      if (c === '\\') {
        chunk = chunk.slice(1);
        if (chunk.length === 0) return BAD;
      }
      if (!failed) {
        if (chunk[0] !== s[0]) failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    }
  }
  return failed ? null : { rest: s };
}

function getEsc(chunkIn: string[]): { rune: number; rest: string[] } | typeof BAD {
  let chunk = chunkIn;
  if (chunk.length === 0 || chunk[0] === '-' || chunk[0] === ']') return BAD;
  if (chunk[0] === '\\') {
    chunk = chunk.slice(1);
    if (chunk.length === 0) return BAD;
  }
  const rune = chunk[0]?.codePointAt(0) ?? 0;
  const rest = chunk.slice(1);
  if (rest.length === 0) return BAD;
  return { rune, rest };
}
