import { InvalidArgumentError } from './errors.js';
import { WireType } from './wire-writer.js';

const two32 = 0x1_0000_0000;

/** A bounds-checked protobuf reader over a Buffer. Bytes it returns are views, not copies. */
export class WireReader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  #truncated(): never {
    throw new InvalidArgumentError(`truncated protobuf message at byte ${this.pos}`);
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** Reads a varint of up to 64 bits as unsigned halves. */
  varint64(): [number, number] {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.#truncated();
      const b = this.buf[this.pos++] as number;
      if (i < 4) lo |= (b & 0x7f) << (i * 7);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >>> 4;
      } else hi |= (b & 0x7f) << (i * 7 - 32);
      if ((b & 0x80) === 0) return [lo >>> 0, hi >>> 0];
    }
    throw new InvalidArgumentError(`malformed varint at byte ${this.pos}`);
  }

  /** Reads a varint and keeps the low 32 bits (what protobuf does for 32-bit fields). */
  varint32(): number {
    return this.varint64()[0];
  }

  fixed32(): number {
    if (this.pos + 4 > this.end) this.#truncated();
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  fixed64(): [number, number] {
    const lo = this.fixed32();
    return [lo, this.fixed32()];
  }

  float(): number {
    if (this.pos + 4 > this.end) this.#truncated();
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.end) this.#truncated();
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Returns [start, end) of a length-delimited section and moves past it. */
  lenDelimited(): [number, number] {
    const [lo, hi] = this.varint64();
    const start = this.pos;
    if (hi !== 0 || start + lo > this.end) this.#truncated();
    this.pos = start + lo;
    return [start, this.pos];
  }

  skip(wire: number): void {
    switch (wire) {
      case WireType.Varint:
        this.varint64();
        return;
      case WireType.Fixed64:
        this.fixed64();
        return;
      case WireType.Len:
        this.lenDelimited();
        return;
      case WireType.Fixed32:
        this.fixed32();
        return;
      case 3: {
        // Deprecated groups: skip nested fields up to the matching end-group tag.
        for (;;) {
          const tag = this.varint32();
          if ((tag & 7) === 4) return;
          this.skip(tag & 7);
        }
      }
      default:
        throw new InvalidArgumentError(`invalid protobuf wire type ${wire} at byte ${this.pos}`);
    }
  }
}

/** Unsigned halves → number (may lose precision above 2^53). */
export function halvesToNumber(lo: number, hi: number, signed: boolean): number {
  if (signed && hi & 0x8000_0000) {
    const nlo = ~lo >>> 0;
    const nhi = ~hi >>> 0;
    return -(nhi * two32 + nlo + 1);
  }
  return hi * two32 + lo;
}

export function halvesToBigInt(lo: number, hi: number, signed: boolean): bigint {
  const u = (BigInt(hi) << 32n) | BigInt(lo);
  return signed ? BigInt.asIntN(64, u) : u;
}
