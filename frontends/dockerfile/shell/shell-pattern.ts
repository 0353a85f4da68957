/**
 * The shell patterns of `${v#p}`, `${v%p}` and `${v/p/r}`: `*` any run, `?` one character,
 * `\` escapes `*`, `?` and `\` (and drops before `}` and `/`). No bracket expressions, like BuildKit.
 */

export class ShellPatternError extends Error {}

const REGEX_META = new Set(['[', ']', '{', '}', '.', '+', '(', ')', '|', '^', '$']);

export function shellPatternToRegExp(
  pattern: string,
  greedy: boolean,
  anchored: boolean,
  global = false,
): RegExp {
  const chars = [...pattern];
  let out = anchored ? '^' : '';
  const star = greedy ? '.*' : '.*?';
  for (let i = 0; i < chars.length; i++) {
    const tok = chars[i] ?? '';
    if (tok === '*') {
      out += star;
    } else if (tok === '?') {
      out += '.';
    } else if (tok === '\\') {
      const nextCh = chars[i + 1];
      if (nextCh === '}' || nextCh === '/') continue;
      i++;
      if (nextCh !== '*' && nextCh !== '?' && nextCh !== '\\') {
        throw new ShellPatternError(
          `invalid pattern (${pattern}) in substitution: invalid escape '\\${nextCh ?? ''}'`,
        );
      }
      out += `\\${nextCh}`;
    } else if (REGEX_META.has(tok)) {
      out += `\\${tok}`;
    } else {
      out += tok;
    }
  }
  return new RegExp(out, global ? 'gu' : 'u');
}

export function trimPrefixPattern(pattern: string, value: string, greedy: boolean): string {
  const m = shellPatternToRegExp(pattern, greedy, true).exec(value);
  return m ? value.slice(m.index + m[0].length) : value;
}

/** Reverses a pattern but keeps each escape before the character it escapes: a\*c → c\*a. */
function reversePattern(pattern: string): string {
  const chars = [...pattern];
  const out: string[] = new Array<string>(chars.length);
  const last = chars.length - 1;
  for (let i = 0; i <= last;) {
    const tok = chars[i] ?? '';
    const outIdx = last - i;
    if (tok === '\\' && i !== last) {
      out[outIdx - 1] = tok;
      out[outIdx] = chars[i + 1] ?? '';
      i += 2;
    } else {
      out[outIdx] = tok;
      i++;
    }
  }
  return out.join('');
}

function reverseString(s: string): string {
  return [...s].reverse().join('');
}

/** Shortest (or longest) matching suffix removed; done as a prefix match on reversed strings. */
export function trimSuffixPattern(pattern: string, value: string, greedy: boolean): string {
  return reverseString(trimPrefixPattern(reversePattern(pattern), reverseString(value), greedy));
}
