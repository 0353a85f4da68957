/** Protobuf wire types. */
export const WireType = { Varint: 0, Fixed64: 1, Len: 2, Fixed32: 5 } as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

const textEncoder = new TextEncoder();
const two32 = 0x1_0000_0000;

/**
 * A growable protobuf byte writer. Length-delimited sections are written in place: `fork` marks the
 * start, `ldelim` inserts the varint length in front of what was written since.
 */
export class WireWriter {
  #buf: Buffer = Buffer.allocUnsafe(256);
  #pos = 0;
  readonly #forks: number[] = [];

  #reserve(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  tag(field: number, wire: WireType): void {
    this.varint32((field << 3) | wire);
  }

  /** Writes an unsigned value below 2^32 (also used for tags and lengths). */
  varint32(value: number): void {
    this.#reserve(5);
    let v = value >>> 0;
    while (v > 0x7f) {
      this.#buf[this.#pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.#buf[this.#pos++] = v;
  }

  /** Writes a 64-bit varint given as two's complement halves. */
  varint64(lo: number, hi: number): void {
    if (hi === 0) {
      this.varint32(lo);
      return;
    }
    this.#reserve(10);
    let l = lo >>> 0;
    let h = hi >>> 0;
    while (h !== 0 || l > 0x7f) {
      this.#buf[this.#pos++] = (l & 0x7f) | 0x80;
      l = ((l >>> 7) | (h << 25)) >>> 0;
      h >>>= 7;
    }
    this.#buf[this.#pos++] = l;
  }

  fixed32(value: number): void {
    this.#reserve(4);
    this.#buf.writeUInt32LE(value >>> 0, this.#pos);
    this.#pos += 4;
  }

  fixed64(lo: number, hi: number): void {
    this.fixed32(lo);
    this.fixed32(hi);
  }

  float(value: number): void {
    this.#reserve(4);
    this.#buf.writeFloatLE(value, this.#pos);
    this.#pos += 4;
  }

  double(value: number): void {
    this.#reserve(8);
    this.#buf.writeDoubleLE(value, this.#pos);
    this.#pos += 8;
  }

  bytes(value: Uint8Array): void {
    this.varint32(value.length);
    this.#reserve(value.length);
    this.#buf.set(value, this.#pos);
    this.#pos += value.length;
  }

  string(value: string): void {
    this.bytes(textEncoder.encode(value));
  }

  fork(): void {
    this.#forks.push(this.#pos);
  }

  ldelim(): void {
    const start = this.#forks.pop();
    if (start === undefined) throw new Error('WireWriter.ldelim without fork');
    const len = this.#pos - start;
    let lenSize = 1;
    for (let v = len >>> 7; v > 0; v >>>= 7) lenSize++;
    this.#reserve(lenSize);
    this.#buf.copyWithin(start + lenSize, start, this.#pos);
    const end = this.#pos + lenSize;
    this.#pos = start;
    this.varint32(len);
    this.#pos = end;
  }

  finish(): Uint8Array {
    if (this.#forks.length > 0) throw new Error('WireWriter.finish with an open fork');
    return Buffer.from(this.#buf.subarray(0, this.#pos));
  }
}

/** Splits an integer (number, bigint, decimal string or Long-like) into 64-bit two's complement halves. */
export function toHalves(value: number | bigint | string | { low: number; high: number }): [number, number] {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`not a finite integer: ${value}`);
    const v = Math.trunc(value);
    if (v >= 0 && v < two32) return [v, 0];
    if (v >= 0) return [v % two32, Math.floor(v / two32) >>> 0];
    // Negative: two's complement of |v| split into halves.
    const abs = -v;
    let lo = abs % two32;
    let hi = Math.floor(abs / two32);
    lo = ~lo >>> 0;
    hi = ~hi >>> 0;
    lo = (lo + 1) >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
    return [lo, hi];
  }
  if (typeof value === 'object') return [value.low >>> 0, value.high >>> 0];
  const b = BigInt.asUintN(64, BigInt(value));
  return [Number(b & 0xffff_ffffn), Number(b >> 32n)];
}
