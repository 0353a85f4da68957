import { InvalidArgumentError } from '../../../proto/errors.js';
import type { CommandLocation } from './commands.js';
import { suggestion } from './suggest.js';

type FlagType = 'bool' | 'string' | 'strings';

interface FlagDef {
  readonly type: FlagType;
  readonly defaultValue: string;
}

/**
 * BuildKit's instruction flag rules (instructions/bflag.go): `--name=value` for strings, `--name`,
 * `--name=true|false` for bools, repeatable string lists; an unknown or repeated flag is an error
 * naming the flag and the instruction.
 */
export class InstructionFlags {
  readonly #defs = new Map<string, FlagDef>();
  readonly #values = new Map<string, string>();
  readonly #lists = new Map<string, string[]>();
  readonly #used = new Set<string>();
  readonly #instruction: string;
  readonly #location: CommandLocation;

  constructor(instruction: string, location: CommandLocation) {
    this.#instruction = instruction;
    this.#location = location;
  }

  bool(name: string, defaultValue = false): this {
    this.#defs.set(name, { type: 'bool', defaultValue: String(defaultValue) });
    return this;
  }

  string(name: string, defaultValue = ''): this {
    this.#defs.set(name, { type: 'string', defaultValue });
    return this;
  }

  strings(name: string): this {
    this.#defs.set(name, { type: 'strings', defaultValue: '' });
    return this;
  }

  parse(args: readonly string[]): this {
    for (const raw of args) {
      if (!raw.startsWith('--')) this.#fail(`arg should start with -- : ${raw}`);
      if (raw === '--') break;
      const body = raw.slice(2);
      const eq = body.indexOf('=');
      const name = eq >= 0 ? body.slice(0, eq) : body;
      const value = eq >= 0 ? body.slice(eq + 1) : '';
      const def = this.#defs.get(name);
      if (!def) {
        const known = [...this.#defs.keys()];
        const hint = suggestion(name, known);
        const accepts =
          known.length === 0
            ? `${this.#instruction} takes no flags`
            : `${this.#instruction} accepts ${known.map((k) => `--${k}`).join(', ')}`;
        this.#fail(`unknown flag: --${name}${hint ? ` (did you mean --${hint}?)` : ''} (${accepts})`);
      }
      if (this.#used.has(name) && def.type !== 'strings') this.#fail(`duplicate flag specified: --${name}`);
      this.#used.add(name);
      switch (def.type) {
        case 'bool': {
          if (eq >= 0 && value === '') this.#fail(`missing a value on flag: --${name}`);
          const lower = value.toLowerCase();
          if (lower !== '' && lower !== 'true' && lower !== 'false') {
            this.#fail(`expecting boolean value for flag --${name}, not: ${value}`);
          }
          this.#values.set(name, lower === '' ? 'true' : lower);
          break;
        }
        case 'string':
          if (eq < 0) this.#fail(`missing a value on flag: --${name}`);
          this.#values.set(name, value);
          break;
        case 'strings':
          if (eq < 0) this.#fail(`missing a value on flag: --${name}`);
          this.#lists.set(name, [...(this.#lists.get(name) ?? []), value]);
          break;
      }
    }
    return this;
  }

  isUsed(name: string): boolean {
    return this.#used.has(name);
  }

  used(): string[] {
    return [...this.#used];
  }

  getBool(name: string): boolean {
    return (this.#values.get(name) ?? this.#defs.get(name)?.defaultValue) === 'true';
  }

  /** undefined when the flag was not given (tri-state bools such as ADD --unpack). */
  getOptionalBool(name: string): boolean | undefined {
    return this.#used.has(name) ? this.getBool(name) : undefined;
  }

  getString(name: string): string {
    return this.#values.get(name) ?? this.#defs.get(name)?.defaultValue ?? '';
  }

  getStrings(name: string): string[] {
    return [...(this.#lists.get(name) ?? [])];
  }

  #fail(message: string): never {
    throw new InvalidArgumentError(message, { location: this.#location });
  }
}
