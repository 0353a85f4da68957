import { InvalidArgumentError } from '../../proto/errors.js';

/** Computes an entry's new permission bits from its current ones (`COPY --chmod=u+x,go-w`). */
export type ModeTransform = (perm: number, isDir: boolean) => number;

const whoBits = { u: 0o4700, g: 0o2070, o: 0o1007 } as const;

/**
 * Parses a chmod(1)-style symbolic mode (`u+x`, `go-w`, `a=r`, `u=rwX,g=rX,o=`), or an octal one,
 * as BuildKit does for `COPY --chmod` (fsutil's symbolic mode parser). Each clause applies to the
 * result of the previous one; `X` adds execute only to directories and to files that already had
 * an execute bit.
 */
export function parseSymbolicMode(spec: string): ModeTransform {
  if (/^[0-7]{1,4}$/.test(spec)) {
    const fixed = Number.parseInt(spec, 8);
    return () => fixed;
  }
  const clauses = spec.split(',').map((clause) => {
    const m = /^([ugoa]*)([-+=])([rwxXst]*)$/.exec(clause);
    if (!m)
      throw new InvalidArgumentError(
        `invalid chmod ${JSON.stringify(spec)}: bad clause ${JSON.stringify(clause)}`,
      );
    return { who: m[1] ?? '', op: m[2] as '+' | '-' | '=', perms: m[3] ?? '' };
  });
  return (perm, isDir) => {
    let mode = perm & 0o7777;
    for (const { who, op, perms } of clauses) {
      // No who letters means "all", as for chmod with a zero umask.
      const targets = who === '' || who.includes('a') ? 'ugo' : who;
      let mask = 0;
      for (const t of targets) mask |= whoBits[t as keyof typeof whoBits];
      let bits = 0;
      for (const p of perms) {
        switch (p) {
          case 'r':
            bits |= 0o444;
            break;
          case 'w':
            bits |= 0o222;
            break;
          case 'x':
            bits |= 0o111;
            break;
          case 'X':
            if (isDir || (mode & 0o111) !== 0) bits |= 0o111;
            break;
          case 's':
            bits |= 0o6000;
            break;
          case 't':
            bits |= 0o1000;
            break;
        }
      }
      const change = bits & mask;
      if (op === '+') mode |= change;
      else if (op === '-') mode &= ~change;
      else mode = (mode & ~mask) | change;
    }
    return mode;
  };
}
