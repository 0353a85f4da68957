/** Go's unicode.IsSpace, which the Dockerfile parser uses to split words. */
export function isUnicodeSpace(ch: string | undefined): boolean {
  if (ch === undefined) return false;
  switch (ch) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case '\u0085':
    case '\u00a0':
    case '\u1680':
    case '\u2028':
    case '\u2029':
    case '\u202f':
    case '\u205f':
    case '\u3000':
      return true;
    default: {
      const c = ch.codePointAt(0) ?? 0;
      return c >= 0x2000 && c <= 0x200a;
    }
  }
}

export function trimLeftUnicodeSpace(s: string): string {
  let i = 0;
  while (i < s.length && isUnicodeSpace(s[i])) i++;
  return s.slice(i);
}

export function trimUnicodeSpace(s: string): string {
  let end = s.length;
  while (end > 0 && isUnicodeSpace(s[end - 1])) end--;
  return trimLeftUnicodeSpace(s.slice(0, end));
}
