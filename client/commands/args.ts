import { InvalidArgumentError } from '../../proto/errors.js';

export type FlagKind = 'bool' | 'string' | 'strings';

export interface FlagSpec {
  /** Long name without dashes, e.g. `output`. */
  readonly name: string;
  /** Other spellings without dashes, e.g. `o` (one letter = `-o`). */
  readonly aliases?: readonly string[];
  readonly kind: FlagKind;
  readonly usage: string;
  readonly hidden?: boolean;
}

export interface ParsedFlags {
  readonly bools: ReadonlyMap<string, boolean>;
  readonly strings: ReadonlyMap<string, string>;
  readonly lists: ReadonlyMap<string, readonly string[]>;
  readonly positionals: readonly string[];
}

/**
 * Parses urfave/cli-style flags: `--name value`, `--name=value`, `-o value`, `-o=value`, booleans
 * as `--flag` or `--flag=false`, repeatable list flags, and `--` ending the flags. Flags and
 * positionals may be interleaved.
 */
export function parseFlags(args: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) {
    byName.set(s.name, s);
    for (const a of s.aliases ?? []) byName.set(a, s);
  }
  const bools = new Map<string, boolean>();
  const strings = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/u, '');
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const inline = eq === -1 ? undefined : body.slice(eq + 1);
    const spec = byName.get(name);
    if (spec === undefined) throw new InvalidArgumentError(`flag provided but not defined: -${name}`);
    if (spec.kind === 'bool') {
      if (inline === undefined) bools.set(spec.name, true);
      else if (inline === 'true' || inline === '1') bools.set(spec.name, true);
      else if (inline === 'false' || inline === '0') bools.set(spec.name, false);
      else throw new InvalidArgumentError(`invalid boolean value "${inline}" for -${name}`);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = args[i + 1];
      if (next === undefined) throw new InvalidArgumentError(`flag needs an argument: -${name}`);
      value = next;
      i++;
    }
    if (spec.kind === 'string') strings.set(spec.name, value);
    else {
      const list = lists.get(spec.name) ?? [];
      list.push(value);
      lists.set(spec.name, list);
    }
  }
  return { bools, strings, lists, positionals };
}

export function flagList(p: ParsedFlags, name: string): readonly string[] {
  return p.lists.get(name) ?? [];
}

/** Help text lines for a flag table, aligned like urfave/cli. */
export function flagHelp(specs: readonly FlagSpec[]): string {
  const rows = specs
    .filter((s) => s.hidden !== true)
    .map((s) => {
      const names = [s.name, ...(s.aliases ?? [])]
        .map((n) => (n.length === 1 ? `-${n}` : `--${n}`))
        .join(', ');
      const arg = s.kind === 'bool' ? '' : ' value';
      return [`${names}${arg}`, s.usage] as const;
    });
  const width = Math.max(0, ...rows.map(([l]) => l.length));
  return rows.map(([l, u]) => `   ${l.padEnd(width)}  ${u}`).join('\n');
}
