import { createHash } from 'node:crypto';
import { InvalidArgumentError } from './errors.js';
import {
  type FieldPlan,
  kilnSchema,
  type MessagePlan,
  type ScalarType,
  type Schema,
  type ValueKind,
} from './schema.js';
import { halvesToBigInt, halvesToNumber, WireReader } from './wire-reader.js';
import { toHalves, WireType, WireWriter } from './wire-writer.js';

/** How 64-bit integers are returned by decodeMessage. */
export interface DecodeOptions {
  /** 'number' (default) may lose precision above 2^53; use 'bigint' for e.g. fsutil Stat.modTime (ns). */
  readonly longs?: 'number' | 'bigint';
}

/**
 * Encodes a plain object (keepCase field names) as protobuf, byte-compatible with Go's deterministic
 * marshaling: fields in field-number order, proto3 zero values omitted (except oneof members and
 * message fields, which have presence), repeated numeric scalars packed, map entries sorted by key.
 * Equal LLB ops therefore give equal bytes and equal digests.
 */
export function encodeMessage(typeName: string, value: object): Uint8Array {
  return encodeWith(kilnSchema(), typeName, value);
}

/**
 * Decodes protobuf bytes into a plain object shaped like proto-loader's `__Output` types generated with
 * `--keepCase --longs=Number --enums=Number --bytes=Buffer --defaults --oneofs --arrays`: defaults filled,
 * absent message fields null, the oneof's virtual property naming the set member, bytes as Buffer views
 * into `bytes`, enums as numbers, 64-bit integers as numbers (or bigint with `longs: 'bigint'`).
 */
export function decodeMessage<T>(typeName: string, bytes: Uint8Array, opts?: DecodeOptions): T {
  return decodeWith<T>(kilnSchema(), typeName, bytes, opts);
}

/** The content digest used for LLB vertices and blobs: `sha256:<hex>`. */
export function digestOf(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** encodeMessage against an explicit schema (tests, alternative proto sets). */
export function encodeWith(schema: Schema, typeName: string, value: object): Uint8Array {
  const w = new WireWriter();
  writeMessage(schema, w, schema.message(typeName), value);
  return w.finish();
}

/** decodeMessage against an explicit schema. */
export function decodeWith<T>(schema: Schema, typeName: string, bytes: Uint8Array, opts?: DecodeOptions): T {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const plan = schema.message(typeName);
  const out = defaultsFor(plan, opts?.longs ?? 'number');
  readFields(schema, new WireReader(buf), plan, out, opts?.longs ?? 'number');
  return out as T;
}

// ---------------------------------------------------------------------------------------------
// Encoding

function fail(plan: MessagePlan, field: FieldPlan | string, what: string): never {
  const name = typeof field === 'string' ? field : field.name;
  throw new InvalidArgumentError(`${plan.typeName}.${name}: ${what}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function writeMessage(schema: Schema, w: WireWriter, plan: MessagePlan, value: unknown): void {
  if (!isRecord(value)) throw new InvalidArgumentError(`${plan.typeName}: expected an object`);
  if (plan.typeName === 'google.protobuf.Timestamp' && value instanceof Date) {
    const ms = value.getTime();
    const seconds = Math.floor(ms / 1000);
    writeMessage(schema, w, plan, { seconds, nanos: (ms - seconds * 1000) * 1_000_000 });
    return;
  }
  for (const key of Object.keys(value)) {
    if (!plan.byName.has(key) && !plan.oneofs.has(key) && value[key] !== undefined) {
      fail(plan, key, 'no such field');
    }
  }
  const chosen = chosenOneofMembers(plan, value);
  for (const field of plan.fields) {
    const v = value[field.name];
    if (v === undefined || v === null) continue;
    if (field.mapKey !== undefined) writeMap(schema, w, plan, field, field.mapKey, v);
    else if (field.repeated) writeRepeated(schema, w, plan, field, v);
    else if (field.oneof !== undefined) {
      // A oneof member is written even when it holds a zero value: that is how presence is encoded.
      if (chosen.get(field.oneof) === field.name || !plan.oneofs.has(field.oneof)) {
        writeValue(schema, w, plan, field, field.value, field.id, v);
      }
    } else if (field.value.kind === 'message' || !isZero(field.value, v)) {
      writeValue(schema, w, plan, field, field.value, field.id, v);
    }
  }
}

/** Which member each oneof encodes: the one named by the virtual property, else the only one set. */
function chosenOneofMembers(plan: MessagePlan, value: Record<string, unknown>): Map<string, string> {
  const chosen = new Map<string, string>();
  for (const [oneof, members] of plan.oneofs) {
    const named = value[oneof];
    if (typeof named === 'string' && named !== '') {
      if (!members.includes(named)) fail(plan, oneof, `"${named}" is not a member`);
      chosen.set(oneof, named);
      continue;
    }
    const set = members.filter((m) => value[m] !== undefined && value[m] !== null);
    if (set.length > 1) fail(plan, oneof, `several members set (${set.join(', ')})`);
    if (set[0] !== undefined) chosen.set(oneof, set[0]);
  }
  return chosen;
}

function isZero(kind: ValueKind, v: unknown): boolean {
  switch (kind.kind) {
    case 'message':
      return false;
    case 'enum':
      return v === 0 || (typeof v === 'string' && kind.values.get(v) === 0);
    case 'scalar':
      switch (kind.scalar) {
        case 'string':
          return v === '';
        case 'bytes':
          return (v instanceof Uint8Array || Array.isArray(v)) && v.length === 0;
        case 'bool':
          return v === false;
        default:
          if (typeof v === 'number' || typeof v === 'bigint') return v === 0 || v === 0n;
          if (typeof v === 'string') return /^[-+]?0+$/.test(v);
          if (isRecord(v)) return v.low === 0 && v.high === 0;
          return false;
      }
  }
}

function writeRepeated(schema: Schema, w: WireWriter, plan: MessagePlan, field: FieldPlan, v: unknown): void {
  if (!Array.isArray(v)) fail(plan, field, 'expected an array');
  if (v.length === 0) return;
  if (field.packed) {
    w.tag(field.id, WireType.Len);
    w.fork();
    for (const item of v) writeBare(plan, field, field.value, w, item);
    w.ldelim();
    return;
  }
  for (const item of v) {
    if (item === undefined || item === null) fail(plan, field, 'null element in repeated field');
    writeValue(schema, w, plan, field, field.value, field.id, item);
  }
}

/** Map entries sorted like Go's deterministic marshaling: strings bytewise (UTF-8), integers numerically. */
function writeMap(
  schema: Schema,
  w: WireWriter,
  plan: MessagePlan,
  field: FieldPlan,
  keyType: ScalarType,
  v: unknown,
): void {
  let entries: [string, unknown][];
  if (v instanceof Map) entries = [...v.entries()].map(([k, val]): [string, unknown] => [String(k), val]);
  else if (isRecord(v)) entries = Object.entries(v);
  else fail(plan, field, 'expected an object or Map');
  const keyed = entries.map(([k, val]) => ({ key: mapKey(plan, field, keyType, k), raw: k, val }));
  keyed.sort((a, b) => compareKeys(a.key, b.key));
  for (let i = 1; i < keyed.length; i++) {
    if (compareKeys(keyed[i - 1]?.key ?? '', keyed[i]?.key ?? '') === 0)
      fail(plan, field, `duplicate map key ${keyed[i]?.raw}`);
  }
  const keyKind: ValueKind = { kind: 'scalar', scalar: keyType };
  for (const { key, raw, val } of keyed) {
    if (val === undefined || val === null) fail(plan, field, `null value for map key ${String(key)}`);
    w.tag(field.id, WireType.Len);
    w.fork();
    const keyValue = keyType === 'string' ? raw : keyType === 'bool' ? key === 1n : key;
    writeValue(schema, w, plan, field, keyKind, 1, keyValue);
    writeValue(schema, w, plan, field, field.value, 2, val);
    w.ldelim();
  }
}

type MapKey = Buffer | bigint;

function mapKey(plan: MessagePlan, field: FieldPlan, keyType: ScalarType, k: string): MapKey {
  switch (keyType) {
    case 'string':
      return Buffer.from(k, 'utf8');
    case 'bool':
      if (k !== 'true' && k !== 'false') fail(plan, field, `bad bool map key ${k}`);
      return k === 'true' ? 1n : 0n;
    default:
      try {
        return BigInt(k);
      } catch {
        fail(plan, field, `bad integer map key ${k}`);
      }
  }
}

function compareKeys(a: MapKey | string, b: MapKey | string): number {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return Buffer.compare(a, b);
  return 0;
}

function wireTypeOf(kind: ValueKind): (typeof WireType)[keyof typeof WireType] {
  if (kind.kind === 'message') return WireType.Len;
  if (kind.kind === 'enum') return WireType.Varint;
  switch (kind.scalar) {
    case 'string':
    case 'bytes':
      return WireType.Len;
    case 'double':
    case 'fixed64':
    case 'sfixed64':
      return WireType.Fixed64;
    case 'float':
    case 'fixed32':
    case 'sfixed32':
      return WireType.Fixed32;
    default:
      return WireType.Varint;
  }
}

function writeValue(
  schema: Schema,
  w: WireWriter,
  plan: MessagePlan,
  field: FieldPlan,
  kind: ValueKind,
  id: number,
  v: unknown,
): void {
  w.tag(id, wireTypeOf(kind));
  if (kind.kind === 'message') {
    w.fork();
    writeMessage(schema, w, schema.message(kind.typeName), v);
    w.ldelim();
    return;
  }
  writeBare(plan, field, kind, w, v);
}

/** Writes a scalar or enum value without its tag. */
function writeBare(plan: MessagePlan, field: FieldPlan, kind: ValueKind, w: WireWriter, v: unknown): void {
  if (kind.kind === 'enum') {
    const n = typeof v === 'string' ? kind.values.get(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n))
      fail(plan, field, `bad ${kind.enumName} value ${String(v)}`);
    const [lo, hi] = toHalves(n);
    w.varint64(lo, hi);
    return;
  }
  if (kind.kind === 'message') fail(plan, field, 'message in packed field');
  switch (kind.scalar) {
    case 'string':
      if (typeof v !== 'string') fail(plan, field, 'expected a string');
      w.string(v);
      return;
    case 'bytes':
      if (v instanceof Uint8Array) w.bytes(v);
      else if (Array.isArray(v)) w.bytes(Uint8Array.from(v as number[]));
      else fail(plan, field, 'expected bytes (Uint8Array/Buffer)');
      return;
    case 'bool':
      if (typeof v !== 'boolean') fail(plan, field, 'expected a boolean');
      w.varint32(v ? 1 : 0);
      return;
    case 'double':
      w.double(toFloat(plan, field, v));
      return;
    case 'float':
      w.float(toFloat(plan, field, v));
      return;
    default: {
      const [lo, hi] = int64Halves(plan, field, v);
      switch (kind.scalar) {
        case 'int32':
        case 'int64':
        case 'uint32':
        case 'uint64':
          w.varint64(lo, hi);
          return;
        case 'sint32':
        case 'sint64': {
          // zigzag: (n << 1) ^ (n >> 63)
          const sign = hi >> 31;
          const zhi = (((hi << 1) | (lo >>> 31)) ^ sign) >>> 0;
          const zlo = ((lo << 1) ^ sign) >>> 0;
          w.varint64(zlo, zhi);
          return;
        }
        case 'fixed32':
        case 'sfixed32':
          w.fixed32(lo);
          return;
        case 'fixed64':
        case 'sfixed64':
          w.fixed64(lo, hi);
          return;
      }
    }
  }
}

function toFloat(plan: MessagePlan, field: FieldPlan, v: unknown): number {
  if (typeof v === 'number') return v;
  fail(plan, field, 'expected a number');
}

function int64Halves(plan: MessagePlan, field: FieldPlan, v: unknown): [number, number] {
  if (typeof v === 'number' && Number.isInteger(v)) return toHalves(v);
  if (typeof v === 'bigint') return toHalves(v);
  if (typeof v === 'string' && /^[-+]?\d+$/.test(v)) return toHalves(v);
  if (isRecord(v) && typeof v.low === 'number' && typeof v.high === 'number') {
    return toHalves(v as { low: number; high: number });
  }
  fail(plan, field, `expected an integer, got ${typeof v === 'object' ? 'object' : String(v)}`);
}

// ---------------------------------------------------------------------------------------------
// Decoding

type Longs = 'number' | 'bigint';

function defaultScalar(scalar: ScalarType, longs: Longs): unknown {
  switch (scalar) {
    case 'string':
      return '';
    case 'bytes':
      return Buffer.alloc(0);
    case 'bool':
      return false;
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return longs === 'bigint' ? 0n : 0;
    default:
      return 0;
  }
}

function defaultValue(kind: ValueKind, longs: Longs): unknown {
  if (kind.kind === 'message') return null;
  if (kind.kind === 'enum') return 0;
  return defaultScalar(kind.scalar, longs);
}

function defaultsFor(plan: MessagePlan, longs: Longs): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of plan.fields) {
    if (f.mapKey !== undefined) out[f.name] = {};
    else if (f.repeated) out[f.name] = [];
    else if (f.oneof === undefined || !plan.oneofs.has(f.oneof)) out[f.name] = defaultValue(f.value, longs);
  }
  return out;
}

function readFields(
  schema: Schema,
  r: WireReader,
  plan: MessagePlan,
  out: Record<string, unknown>,
  longs: Longs,
): void {
  while (!r.done()) {
    const tag = r.varint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    const field = plan.byId.get(id);
    if (field === undefined || id === 0) {
      r.skip(wire);
      continue;
    }
    if (field.mapKey !== undefined) {
      expectWire(plan, field, wire, WireType.Len);
      readMapEntry(schema, r, plan, field, field.mapKey, out[field.name] as Record<string, unknown>, longs);
    } else if (field.repeated) {
      const arr = out[field.name] as unknown[];
      if (
        wire === WireType.Len &&
        field.value.kind !== 'message' &&
        wireTypeOf(field.value) !== WireType.Len
      ) {
        // Packed run; parsers must accept it whether or not the field is declared packed.
        const [start, end] = r.lenDelimited();
        const sub = new WireReader(r.buf, start, end);
        while (!sub.done()) arr.push(readValue(schema, sub, plan, field, field.value, longs));
      } else {
        expectWire(plan, field, wire, wireTypeOf(field.value));
        arr.push(readValue(schema, r, plan, field, field.value, longs));
      }
    } else {
      expectWire(plan, field, wire, wireTypeOf(field.value));
      const prev = out[field.name];
      if (field.value.kind === 'message' && isRecord(prev)) {
        // A repeated occurrence of a singular message merges into the earlier one.
        const [start, end] = r.lenDelimited();
        readFields(
          schema,
          new WireReader(r.buf, start, end),
          schema.message(field.value.typeName),
          prev,
          longs,
        );
      } else {
        out[field.name] = readValue(schema, r, plan, field, field.value, longs);
      }
      if (field.oneof !== undefined && plan.oneofs.has(field.oneof)) {
        for (const other of plan.oneofs.get(field.oneof) ?? []) if (other !== field.name) delete out[other];
        out[field.oneof] = field.name;
      }
    }
  }
}

function expectWire(plan: MessagePlan, field: FieldPlan, got: number, want: number): void {
  if (got !== want) fail(plan, field, `wire type ${got}, expected ${want}`);
}

function readMapEntry(
  schema: Schema,
  r: WireReader,
  plan: MessagePlan,
  field: FieldPlan,
  keyType: ScalarType,
  target: Record<string, unknown>,
  longs: Longs,
): void {
  const [start, end] = r.lenDelimited();
  const sub = new WireReader(r.buf, start, end);
  const keyKind: ValueKind = { kind: 'scalar', scalar: keyType };
  let key: unknown = defaultScalar(keyType, 'bigint');
  let val: unknown;
  while (!sub.done()) {
    const tag = sub.varint32();
    const wire = tag & 7;
    if (tag >>> 3 === 1) {
      expectWire(plan, field, wire, wireTypeOf(keyKind));
      key = readValue(schema, sub, plan, field, keyKind, 'bigint');
    } else if (tag >>> 3 === 2) {
      expectWire(plan, field, wire, wireTypeOf(field.value));
      val = readValue(schema, sub, plan, field, field.value, longs);
    } else sub.skip(wire);
  }
  if (val === undefined) {
    val =
      field.value.kind === 'message'
        ? defaultsFor(schema.message(field.value.typeName), longs)
        : defaultValue(field.value, longs);
  }
  target[String(key)] = val;
}

function readValue(
  schema: Schema,
  r: WireReader,
  plan: MessagePlan,
  field: FieldPlan,
  kind: ValueKind,
  longs: Longs,
): unknown {
  if (kind.kind === 'message') {
    const [start, end] = r.lenDelimited();
    const sub = schema.message(kind.typeName);
    const out = defaultsFor(sub, longs);
    readFields(schema, new WireReader(r.buf, start, end), sub, out, longs);
    return out;
  }
  if (kind.kind === 'enum') return r.varint64()[0] | 0;
  switch (kind.scalar) {
    case 'string': {
      const [start, end] = r.lenDelimited();
      return r.buf.toString('utf8', start, end);
    }
    case 'bytes': {
      const [start, end] = r.lenDelimited();
      return r.buf.subarray(start, end);
    }
    case 'bool': {
      const [lo, hi] = r.varint64();
      return lo !== 0 || hi !== 0;
    }
    case 'double':
      return r.double();
    case 'float':
      return r.float();
    case 'int32':
      return r.varint64()[0] | 0;
    case 'uint32':
      return r.varint64()[0];
    case 'sint32': {
      const n = r.varint64()[0];
      return (n >>> 1) ^ -(n & 1);
    }
    case 'fixed32':
      return r.fixed32();
    case 'sfixed32':
      return r.fixed32() | 0;
    case 'int64':
    case 'uint64':
    case 'fixed64':
    case 'sfixed64':
    case 'sint64': {
      let [lo, hi] = kind.scalar === 'fixed64' || kind.scalar === 'sfixed64' ? r.fixed64() : r.varint64();
      let signed = kind.scalar !== 'uint64' && kind.scalar !== 'fixed64';
      if (kind.scalar === 'sint64') {
        // un-zigzag: (n >>> 1) ^ -(n & 1)
        const neg = lo & 1;
        lo = ((lo >>> 1) | (hi << 31)) >>> 0;
        hi = hi >>> 1;
        if (neg) {
          lo = ~lo >>> 0;
          hi = ~hi >>> 0;
        }
        signed = true;
      }
      return longs === 'bigint' ? halvesToBigInt(lo, hi, signed) : halvesToNumber(lo, hi, signed);
    }
  }
  return fail(plan, field, `unsupported type`);
}
