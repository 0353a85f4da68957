import { InvalidArgumentError } from '../../proto/errors.js';

/**
 * Splits one CSV record the way Go's encoding/csv does for buildctl's `--output` style flags: a
 * field may be wrapped in double quotes (then commas and `""` escapes are allowed inside), and a
 * quote inside an unquoted field is an error rather than silently kept.
 */
export function parseCsvRecord(input: string): string[] {
  const fields: string[] = [];
  let i = 0;
  // A record is at least one field, even when empty.
  for (;;) {
    if (input[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= input.length)
          throw new InvalidArgumentError(`invalid CSV "${input}": extraneous or missing " in quoted field`);
        const ch = input[i];
        if (ch === '"') {
          if (input[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += ch;
        i++;
      }
      if (i < input.length && input[i] !== ',') {
        throw new InvalidArgumentError(`invalid CSV "${input}": extraneous or missing " in quoted field`);
      }
      fields.push(value);
    } else {
      const end = input.indexOf(',', i);
      const value = end === -1 ? input.slice(i) : input.slice(i, end);
      if (value.includes('"'))
        throw new InvalidArgumentError(`invalid CSV "${input}": bare " in non-quoted field`);
      fields.push(value);
      i = end === -1 ? input.length : end;
    }
    if (i >= input.length) break;
    i++; // the comma
    if (i >= input.length) {
      fields.push('');
      break;
    }
  }
  return fields;
}

/** `key=value` split at the first `=`; a field without `=` is an error, as in buildctl. */
export function splitKeyValue(field: string): [string, string] {
  const eq = field.indexOf('=');
  if (eq === -1) throw new InvalidArgumentError(`invalid value ${field}`);
  return [field.slice(0, eq), field.slice(eq + 1)];
}
