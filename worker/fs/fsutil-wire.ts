import type { FsStat, Packet } from './fsutil-types.js';
import { FileSyncProtocolError } from './fsutil-validator.js';

/**
 * A hand-written protobuf codec for fsutil.types.Packet / Stat (proto/fsutil/types/*.proto), the
 * one message that crosses the wire tens of thousands of times per transfer: the schema-driven
 * codec cost more CPU than the file I/O. Output is what Go's deterministic marshaling gives
 * (field-number order, proto3 zero values omitted, map entries sorted by key); the schema codec
 * stays the reference (see test/session/fsutil-wire.test.ts).
 */

const U64 = (1n << 64n) - 1n;

function varintLen(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function varintLenBig(v: bigint): number {
  if (v >= 0n && v <= MAX_SAFE) return varintLen(Number(v));
  let u = v & U64;
  let n = 1;
  while (u >= 0x80n) {
    u >>= 7n;
    n++;
  }
  return n;
}

class Writer {
  readonly buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  varint(v: number): void {
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  varintBig(v: bigint): void {
    if (v >= 0n && v <= MAX_SAFE) {
      this.varint(Number(v));
      return;
    }
    let u = v & U64;
    while (u >= 0x80n) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }
}

interface StatPlan {
  readonly path: Uint8Array;
  readonly linkname: Uint8Array;
  readonly xattrs: readonly (readonly [Uint8Array, Uint8Array, number])[];
  readonly size: number;
}

function planStat(s: FsStat): StatPlan {
  const path = Buffer.from(s.path, 'utf8');
  const linkname = Buffer.from(s.linkname, 'utf8');
  let size = 0;
  if (path.byteLength > 0) size += 1 + varintLen(path.byteLength) + path.byteLength;
  if (s.mode >>> 0 !== 0) size += 1 + varintLen(s.mode >>> 0);
  if (s.uid >>> 0 !== 0) size += 1 + varintLen(s.uid >>> 0);
  if (s.gid >>> 0 !== 0) size += 1 + varintLen(s.gid >>> 0);
  if (s.size !== 0n) size += 1 + varintLenBig(s.size);
  if (s.modTime !== 0n) size += 1 + varintLenBig(s.modTime);
  if (linkname.byteLength > 0) size += 1 + varintLen(linkname.byteLength) + linkname.byteLength;
  if (s.devmajor !== 0n) size += 1 + varintLenBig(s.devmajor);
  if (s.devminor !== 0n) size += 1 + varintLenBig(s.devminor);
  const xattrs: [Uint8Array, Uint8Array, number][] = [];
  const keys = [...s.xattrs.keys()].sort();
  for (const k of keys) {
    const kb = Buffer.from(k, 'utf8');
    const vb = s.xattrs.get(k)!;
    // Map entries carry key and value even when empty, as the schema codec writes them.
    const entry = 2 + varintLen(kb.byteLength) + kb.byteLength + varintLen(vb.byteLength) + vb.byteLength;
    xattrs.push([kb, vb, entry]);
    size += 1 + varintLen(entry) + entry;
  }
  return { path, linkname, xattrs, size };
}

function writeStat(w: Writer, s: FsStat, p: StatPlan): void {
  if (p.path.byteLength > 0) {
    w.buf[w.pos++] = (1 << 3) | 2;
    w.varint(p.path.byteLength);
    w.bytes(p.path);
  }
  if (s.mode >>> 0 !== 0) {
    w.buf[w.pos++] = 2 << 3;
    w.varint(s.mode >>> 0);
  }
  if (s.uid >>> 0 !== 0) {
    w.buf[w.pos++] = 3 << 3;
    w.varint(s.uid >>> 0);
  }
  if (s.gid >>> 0 !== 0) {
    w.buf[w.pos++] = 4 << 3;
    w.varint(s.gid >>> 0);
  }
  if (s.size !== 0n) {
    w.buf[w.pos++] = 5 << 3;
    w.varintBig(s.size);
  }
  if (s.modTime !== 0n) {
    w.buf[w.pos++] = 6 << 3;
    w.varintBig(s.modTime);
  }
  if (p.linkname.byteLength > 0) {
    w.buf[w.pos++] = (7 << 3) | 2;
    w.varint(p.linkname.byteLength);
    w.bytes(p.linkname);
  }
  if (s.devmajor !== 0n) {
    w.buf[w.pos++] = 8 << 3;
    w.varintBig(s.devmajor);
  }
  if (s.devminor !== 0n) {
    w.buf[w.pos++] = 9 << 3;
    w.varintBig(s.devminor);
  }
  for (const [k, v, entry] of p.xattrs) {
    w.buf[w.pos++] = (10 << 3) | 2;
    w.varint(entry);
    w.buf[w.pos++] = (1 << 3) | 2;
    w.varint(k.byteLength);
    w.bytes(k);
    w.buf[w.pos++] = (2 << 3) | 2;
    w.varint(v.byteLength);
    w.bytes(v);
  }
}

/**
 * The packet's protobuf bytes. With `grpcPrefix`, they come after 5 bytes of room, filled in with
 * gRPC's message prefix (uncompressed flag, big-endian length): one buffer and no copy for a
 * transport that frames messages itself.
 */
export function encodePacketWire(p: Packet, grpcPrefix = false): Uint8Array {
  const type = p.type;
  const id = 'id' in p ? p.id >>> 0 : 0;
  const data = 'data' in p ? p.data : undefined;
  const stat = p.type === 0 ? p.stat : undefined;
  const plan = stat ? planStat(stat) : undefined;
  let size = 0;
  if (type !== 0) size += 2;
  if (plan) size += 1 + varintLen(plan.size) + plan.size;
  if (id !== 0) size += 1 + varintLen(id);
  if (data && data.byteLength > 0) size += 1 + varintLen(data.byteLength) + data.byteLength;
  const w = new Writer(grpcPrefix ? size + 5 : size);
  if (grpcPrefix) {
    w.buf[0] = 0;
    w.buf.writeUInt32BE(size, 1);
    w.pos = 5;
  }
  if (type !== 0) {
    w.buf[w.pos++] = 1 << 3;
    w.buf[w.pos++] = type;
  }
  if (plan && stat) {
    w.buf[w.pos++] = (2 << 3) | 2;
    w.varint(plan.size);
    writeStat(w, stat, plan);
  }
  if (id !== 0) {
    w.buf[w.pos++] = 3 << 3;
    w.varint(id);
  }
  if (data && data.byteLength > 0) {
    w.buf[w.pos++] = (4 << 3) | 2;
    w.varint(data.byteLength);
    w.bytes(data);
  }
  return w.buf;
}

/**
 * One reader for every decode (decoding is synchronous and never nested across calls): a transfer
 * decodes tens of thousands of packets, and a reader object, or an array per varint, each showed
 * as garbage-collector work.
 */
class Reader {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  end = 0;
  /** The high 32 bits of the last varint read by halves(). */
  hi = 0;
  reset(buf: Buffer, start: number, end: number): void {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }
  private truncated(): never {
    throw new FileSyncProtocolError(`malformed file sync packet: truncated at byte ${this.pos}`);
  }
  /** A varint's low 32 bits (how protobuf reads uint32 and enum fields). */
  uint32(): number {
    // Tags, types, modes and ids are mostly one byte.
    if (this.pos < this.end) {
      const b = this.buf[this.pos]!;
      if (b < 0x80) {
        this.pos++;
        this.hi = 0;
        return b;
      }
    }
    return this.halves();
  }
  int64(): bigint {
    const lo = this.halves();
    const hi = this.hi;
    if (hi === 0) return BigInt(lo);
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }
  /** A varint's low 32 bits; its high 32 bits go to `hi`. */
  halves(): number {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.truncated();
      const b = this.buf[this.pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (i * 7);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >>> 4;
      } else hi |= (b & 0x7f) << (i * 7 - 32);
      if ((b & 0x80) === 0) {
        this.hi = hi >>> 0;
        return lo >>> 0;
      }
    }
    throw new FileSyncProtocolError(`malformed file sync packet: bad varint at byte ${this.pos}`);
  }
  /** A length-delimited field: returns its start and leaves `pos` at its end. */
  span(): number {
    const len = this.uint32();
    const start = this.pos;
    if (this.hi !== 0 || start + len > this.end) this.truncated();
    this.pos = start + len;
    return start;
  }
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.halves();
        return;
      case 1:
        if (this.pos + 8 > this.end) this.truncated();
        this.pos += 8;
        return;
      case 2:
        this.span();
        return;
      case 5:
        if (this.pos + 4 > this.end) this.truncated();
        this.pos += 4;
        return;
      default:
        throw new FileSyncProtocolError(`malformed file sync packet: wire type ${wireType}`);
    }
  }
  string(): string {
    const s = this.span();
    return this.buf.toString('utf8', s, this.pos);
  }
}

const reader = new Reader();

function expectWire(field: number, got: number, want: number): void {
  if (got !== want)
    throw new FileSyncProtocolError(`malformed file sync packet: field ${field} has wire type ${got}`);
}

/**
 * Decoded stats without extended attributes share this map (one Map per stat was most of a
 * stat's memory); nothing mutates a received stat, and a stat with xattrs gets a map of its own.
 */
const NO_XATTRS: Map<string, Uint8Array> = new Map();

function emptyStat(): FsStat {
  return {
    path: '',
    mode: 0,
    uid: 0,
    gid: 0,
    size: 0n,
    modTime: 0n,
    linkname: '',
    devmajor: 0n,
    devminor: 0n,
    xattrs: NO_XATTRS,
  };
}

/** Reads the stat fields in [r.pos, end); on return `r.end` is the enclosing message's end again. */
function readStat(r: Reader, end: number, s: FsStat): void {
  const outer = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wt = tag & 7;
    switch (field) {
      case 1:
        expectWire(field, wt, 2);
        s.path = r.string();
        break;
      case 2:
        expectWire(field, wt, 0);
        s.mode = r.uint32();
        break;
      case 3:
        expectWire(field, wt, 0);
        s.uid = r.uint32();
        break;
      case 4:
        expectWire(field, wt, 0);
        s.gid = r.uint32();
        break;
      case 5:
        expectWire(field, wt, 0);
        s.size = r.int64();
        break;
      case 6:
        expectWire(field, wt, 0);
        s.modTime = r.int64();
        break;
      case 7:
        expectWire(field, wt, 2);
        s.linkname = r.string();
        break;
      case 8:
        expectWire(field, wt, 0);
        s.devmajor = r.int64();
        break;
      case 9:
        expectWire(field, wt, 0);
        s.devminor = r.int64();
        break;
      case 10: {
        expectWire(field, wt, 2);
        const es = r.span();
        const ee = r.pos;
        r.pos = es;
        r.end = ee;
        let key = '';
        let value: Uint8Array = Buffer.alloc(0);
        while (r.pos < ee) {
          const t = r.uint32();
          if (t >>> 3 === 1 && (t & 7) === 2) key = r.string();
          else if (t >>> 3 === 2 && (t & 7) === 2) {
            const vs = r.span();
            value = r.buf.subarray(vs, r.pos);
          } else r.skip(t & 7);
        }
        r.end = end;
        if (s.xattrs === NO_XATTRS) s.xattrs = new Map();
        s.xattrs.set(key, value);
        break;
      }
      default:
        r.skip(wt);
    }
  }
  if (r.pos !== end) throw new FileSyncProtocolError('malformed file sync packet: stat overruns its length');
  r.end = outer;
}

const NO_DATA = Buffer.alloc(0);

export function decodePacketWire(bytes: Uint8Array): {
  type: number;
  stat: FsStat | undefined;
  id: number;
  data: Uint8Array;
} {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = reader;
  r.reset(buf, 0, buf.length);
  let type = 0;
  let stat: FsStat | undefined;
  let id = 0;
  let data: Uint8Array = NO_DATA;
  while (r.pos < r.end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wt = tag & 7;
    switch (field) {
      case 1:
        expectWire(field, wt, 0);
        type = r.uint32();
        break;
      case 2: {
        expectWire(field, wt, 2);
        const s = r.span();
        const e = r.pos;
        r.pos = s;
        stat ??= emptyStat();
        readStat(r, e, stat);
        break;
      }
      case 3:
        expectWire(field, wt, 0);
        id = r.uint32();
        break;
      case 4: {
        expectWire(field, wt, 2);
        const s = r.span();
        data = buf.subarray(s, r.pos);
        break;
      }
      default:
        r.skip(wt);
    }
  }
  // Not kept past the call: the reader must not hold on to a message's memory.
  r.reset(NO_DATA, 0, 0);
  return { type, stat, id, data };
}
