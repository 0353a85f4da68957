import { InvalidArgumentError } from '../../../proto/errors.js';

/** EXPOSE specs (`80`, `80/udp`, `8000-8002`, `[ip:]host:container/proto`) → `port/proto` keys. */
export function parsePortSpecs(specs: readonly string[]): string[] {
  return specs.flatMap(parsePortSpec);
}

function parsePortSpec(raw: string): string[] {
  const parts = raw.split(':');
  const containerPart = parts[parts.length - 1] ?? '';
  const slash = containerPart.indexOf('/');
  const port = slash >= 0 ? containerPart.slice(0, slash) : containerPart;
  const proto = (slash >= 0 ? containerPart.slice(slash + 1) : '').toLowerCase() || 'tcp';
  if (port === '') throw new InvalidArgumentError(`no port specified: ${containerPart}<empty>`);
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new InvalidArgumentError(`invalid proto: ${proto}`);
  const range = parseRange(port);
  if (!range) throw new InvalidArgumentError(`invalid containerPort: ${port}`);
  const out: string[] = [];
  for (let p = range[0]; p <= range[1]; p++) out.push(`${p}/${proto}`);
  return out;
}

function parseRange(s: string): [number, number] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535 || end < start) return undefined;
  return [start, end];
}
