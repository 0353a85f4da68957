import { InvalidArgumentError } from '../../proto/errors.js';
import type { UsageRecord } from './types.js';

/**
 * BuildKit's du/prune filters (containerd filter syntax, the subset buildctl users type):
 * each string is a comma-separated AND of clauses, several strings are OR-ed. A clause is
 * `field==value`, `field!=value`, `field~=regexp`, or a bare boolean field (`inuse`, `mutable`,
 * `shared`, `private`). Fields: id, type (recordtype), description, inuse, mutable, shared, private,
 * parent.
 */
export type UsagePredicate = (record: UsageRecord) => boolean;

const clausePattern = /^([a-zA-Z.]+)\s*(==|!=|~=|=)?\s*(.*)$/;

export function parseUsageFilter(filters: readonly string[] | undefined): UsagePredicate {
  const alternatives = (filters ?? []).filter((f) => f.trim() !== '').map(parseConjunction);
  if (alternatives.length === 0) return () => true;
  return (record) => alternatives.some((match) => match(record));
}

function parseConjunction(filter: string): UsagePredicate {
  const clauses = filter
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '')
    .map(parseClause);
  return (record) => clauses.every((match) => match(record));
}

function parseClause(clause: string): UsagePredicate {
  const m = clausePattern.exec(clause);
  if (!m) throw new InvalidArgumentError(`invalid filter ${JSON.stringify(clause)}`);
  const field = (m[1] ?? '').toLowerCase();
  const operator = m[2];
  const value = unquote(m[3] ?? '');
  const get = fieldGetter(field, clause);
  if (operator === undefined) {
    if (value !== '') throw new InvalidArgumentError(`invalid filter ${JSON.stringify(clause)}`);
    return (record) => {
      const v = get(record);
      return v === true || (typeof v === 'string' && v !== '') || (Array.isArray(v) && v.length > 0);
    };
  }
  const matches = (v: string | boolean | readonly string[], test: (s: string) => boolean): boolean =>
    Array.isArray(v) ? v.some((s) => test(String(s))) : test(String(v));
  switch (operator) {
    case '==':
    case '=':
      return (record) => matches(get(record), (s) => s === value);
    case '!=':
      return (record) => !matches(get(record), (s) => s === value);
    case '~=': {
      let re: RegExp;
      try {
        re = new RegExp(value);
      } catch (err) {
        throw new InvalidArgumentError(`invalid filter ${JSON.stringify(clause)}: bad regular expression`, {
          cause: err,
        });
      }
      return (record) => matches(get(record), (s) => re.test(s));
    }
    default:
      throw new InvalidArgumentError(`invalid filter ${JSON.stringify(clause)}`);
  }
}

function fieldGetter(
  field: string,
  clause: string,
): (r: UsageRecord) => string | boolean | readonly string[] {
  switch (field) {
    case 'id':
      return (r) => r.ID;
    case 'type':
    case 'recordtype':
      return (r) => r.RecordType;
    case 'description':
      return (r) => r.Description;
    case 'inuse':
      return (r) => r.InUse;
    case 'mutable':
      return (r) => r.Mutable;
    case 'shared':
      return (r) => r.Shared;
    case 'private':
      return (r) => !r.Shared;
    case 'parent':
    case 'parents':
      return (r) => r.Parents;
    default:
      throw new InvalidArgumentError(
        `invalid filter ${JSON.stringify(clause)}: unknown field ${JSON.stringify(field)} (use id, type, description, inuse, mutable, shared, private, parent)`,
      );
  }
}

function unquote(s: string): string {
  const t = s.trim();
  if (t.length >= 2 && (t.startsWith('"') || t.startsWith("'")) && t.endsWith(t[0] ?? ''))
    return t.slice(1, -1);
  return t;
}
