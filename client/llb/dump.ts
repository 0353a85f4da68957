import type { DefinitionBytes } from '../../frontends/types.js';
import { decodeMessage, digestOf } from '../../proto/codec.js';

export interface DumpedOp {
  readonly digest: string;
  readonly op: unknown;
  readonly metadata?: unknown;
}

/**
 * A readable view of a definition (like `buildctl debug dump-llb`): each op decoded, proto3 defaults
 * left out, bytes shown as UTF-8 text. For golden tests and debugging, not for re-encoding.
 */
export function dumpDefinition(def: DefinitionBytes): DumpedOp[] {
  return def.def.map((bytes) => {
    const digest = digestOf(bytes);
    const op = prune(decodeMessage<Record<string, unknown>>('pb.Op', bytes));
    const md = def.metadata[digest];
    return md === undefined ? { digest, op } : { digest, op, metadata: prune(md) };
  });
}

function prune(v: unknown): unknown {
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (Array.isArray(v)) return v.map(prune);
  if (typeof v !== 'object' || v === null) return v;
  const obj = v as Record<string, unknown>;
  // decodeMessage names the set member of a oneof in a virtual property; that member is kept even
  // when it holds a zero value (e.g. chown byID 0).
  const oneofMembers = new Set<string>();
  for (const [k, val] of Object.entries(obj)) {
    if (typeof val === 'string' && val !== k && val in obj && typeof obj[val] !== 'string')
      oneofMembers.add(val);
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj).sort()) {
    const val = obj[key];
    if (typeof val === 'string' && oneofMembers.has(val) && !oneofMembers.has(key)) continue;
    if (!oneofMembers.has(key) && !indexKeys.has(key) && isDefault(val)) continue;
    out[key] = prune(val);
  }
  return out;
}

/** Graph wiring stays visible even when 0 (the first input), which proto3 leaves off the wire. */
const indexKeys: ReadonlySet<string> = new Set(['input', 'secondaryInput', 'output', 'index']);

function isDefault(v: unknown): boolean {
  if (v === null || v === undefined || v === '' || v === 0 || v === false || v === 0n) return true;
  if (v instanceof Uint8Array) return v.length === 0;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return false;
}
