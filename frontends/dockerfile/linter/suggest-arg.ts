import { suggestion } from '../instructions/suggest.js';
import type { ShellLex } from '../shell/lex.js';

/**
 * ` (did you mean X?)` for the first unset variable of `word` that looks like a mistyped one of
 * `vars`, as BuildKit's wrapSuggestAny adds to FROM errors; "" when there is none.
 */
export function didYouMeanArg(shlex: ShellLex, word: string, vars: ReadonlyMap<string, string>): string {
  let unmatched: Set<string>;
  try {
    unmatched = shlex.processWordWithMatches(word, (k) => vars.get(k)).unmatched;
  } catch {
    return '';
  }
  for (const name of unmatched) {
    const hint = suggestion(name, [...vars.keys()]);
    if (hint) return ` (did you mean ${hint}?)`;
  }
  return '';
}
