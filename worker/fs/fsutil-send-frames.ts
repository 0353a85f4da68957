import { encodePacketWire } from './fsutil-wire.js';
import { type FsStat, type Packet, PacketType } from './fsutil-types.js';

/**
 * Batches of the sender's packets. FrameBuilder frames each as a gRPC message (5-byte prefix:
 * uncompressed flag, big-endian length) and writes them back to back into one large buffer that
 * goes to the HTTP/2 stream as it is: a Buffer, a promise and a write per ~20-byte packet cost
 * more than the packet itself. File bytes are read straight into the buffer behind their DATA
 * header. The bytes are exactly what encodePacketWire gives (see
 * test/session/fsutil-send-frames.test.ts). PacketBuilder makes the same batches as packet
 * objects, for transports that encode packets themselves.
 */

/** gRPC prefix + the largest header in front of a DATA packet's bytes (type, id, data tag and length). */
export const MAX_DATA_HEADER = 5 + 2 + 1 + 5 + 1 + 5;

const big64 = new BigUint64Array(1);
const halves = new Uint32Array(big64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = LITTLE_ENDIAN ? 1 : 0;

function varintLen(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Bytes of an int64 varint; the halves are left in `halves` for writeVarint64. */
function varint64Len(v: bigint): number {
  big64[0] = BigInt.asUintN(64, v);
  let lo = halves[LO]!;
  let hi = halves[HI]!;
  let n = 1;
  while (hi !== 0 || lo >= 0x80) {
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
    n++;
  }
  return n;
}

/** UTF-8 length; ASCII (nearly every path) without a call into C++. */
function utf8Len(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

/**
 * Where the sender puts a batch of packets: each method returns false when the packet does not
 * fit (take() the batch first). File bytes are read straight into `buf` at reserveData()'s offset.
 */
export interface BatchBuilder<B> {
  readonly buf: Buffer;
  /** Bytes the batch holds (roughly, for packets that are objects). */
  readonly size: number;
  fits(n: number): boolean;
  stat(s: FsStat): boolean;
  endOfListing(): boolean;
  reserveData(id: number, max: number, expect: number): number;
  commitData(id: number, at: number, n: number, expect: number): void;
  endOfFile(id: number): boolean;
  fin(): boolean;
  err(message: string): boolean;
  take(): B;
  recycle(batch: B): void;
}

/** Buffers kept for reuse: a fresh one per batch made the GC chase external memory. */
const POOL_SIZE = 8;

export class FrameBuilder implements BatchBuilder<Buffer> {
  buf: Buffer;
  pos = 0;
  private readonly pool: Buffer[] = [];

  constructor(private readonly capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  get size(): number {
    return this.pos;
  }

  /**
   * Whether `n` more bytes fit. An empty builder always makes room (a larger buffer for one
   * large item); a non-empty one says no, and the caller takes() what it holds first.
   */
  fits(n: number): boolean {
    if (this.buf.byteLength - this.pos >= n) return true;
    if (this.pos > 0) return false;
    this.buf = Buffer.allocUnsafe(Math.max(n, this.capacity));
    return true;
  }

  /** The framed messages built so far; the builder continues in another buffer. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = this.pool.pop() ?? Buffer.allocUnsafe(this.capacity);
    this.pos = 0;
    return out;
  }

  /** Gives back what take() returned, once nothing refers to its bytes any more. */
  recycle(frames: Buffer): void {
    const ab = frames.buffer;
    // Only whole buffers of the usual size: not a slice of Node's shared pool, not a grown one.
    if (frames.byteOffset !== 0 || ab.byteLength !== this.capacity || this.pool.length >= POOL_SIZE) return;
    this.pool.push(Buffer.from(ab, 0, this.capacity));
  }

  private prefix(len: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = 0;
    b[p + 1] = len >>> 24;
    b[p + 2] = (len >>> 16) & 0xff;
    b[p + 3] = (len >>> 8) & 0xff;
    b[p + 4] = len & 0xff;
    this.pos = p + 5;
  }

  private varint(v: number): void {
    const b = this.buf;
    let p = this.pos;
    while (v >= 0x80) {
      b[p++] = (v & 0x7f) | 0x80;
      v = v >>> 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  private varint64(v: bigint): void {
    big64[0] = BigInt.asUintN(64, v);
    let lo = halves[LO]!;
    let hi = halves[HI]!;
    const b = this.buf;
    let p = this.pos;
    while (hi !== 0 || lo >= 0x80) {
      b[p++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    b[p++] = lo;
    this.pos = p;
  }

  private string(s: string, len: number): void {
    const b = this.buf;
    const p = this.pos;
    if (len === s.length) for (let i = 0; i < len; i++) b[p + i] = s.charCodeAt(i);
    else b.write(s, p, len, 'utf8');
    this.pos = p + len;
  }

  /**
   * A STAT packet; false when the builder is not empty and it does not fit. Stats with xattrs
   * (the walk never reads any) take the general encoder.
   */
  stat(s: FsStat): boolean {
    if (s.xattrs.size > 0) return this.copyFramed(encodePacketWire({ type: PacketType.Stat, stat: s }, true));
    const pathLen = utf8Len(s.path);
    const linkLen = utf8Len(s.linkname);
    const mode = s.mode >>> 0;
    const uid = s.uid >>> 0;
    const gid = s.gid >>> 0;
    let size = 0;
    if (pathLen > 0) size += 1 + varintLen(pathLen) + pathLen;
    if (mode !== 0) size += 1 + varintLen(mode);
    if (uid !== 0) size += 1 + varintLen(uid);
    if (gid !== 0) size += 1 + varintLen(gid);
    if (s.size !== 0n) size += 1 + varint64Len(s.size);
    if (s.modTime !== 0n) size += 1 + varint64Len(s.modTime);
    if (linkLen > 0) size += 1 + varintLen(linkLen) + linkLen;
    if (s.devmajor !== 0n) size += 1 + varint64Len(s.devmajor);
    if (s.devminor !== 0n) size += 1 + varint64Len(s.devminor);
    const msg = 1 + varintLen(size) + size;
    if (!this.fits(5 + msg)) return false;
    this.prefix(msg);
    const b = this.buf;
    b[this.pos++] = (2 << 3) | 2;
    this.varint(size);
    if (pathLen > 0) {
      b[this.pos++] = (1 << 3) | 2;
      this.varint(pathLen);
      this.string(s.path, pathLen);
    }
    if (mode !== 0) {
      b[this.pos++] = 2 << 3;
      this.varint(mode);
    }
    if (uid !== 0) {
      b[this.pos++] = 3 << 3;
      this.varint(uid);
    }
    if (gid !== 0) {
      b[this.pos++] = 4 << 3;
      this.varint(gid);
    }
    if (s.size !== 0n) {
      b[this.pos++] = 5 << 3;
      this.varint64(s.size);
    }
    if (s.modTime !== 0n) {
      b[this.pos++] = 6 << 3;
      this.varint64(s.modTime);
    }
    if (linkLen > 0) {
      b[this.pos++] = (7 << 3) | 2;
      this.varint(linkLen);
      this.string(s.linkname, linkLen);
    }
    if (s.devmajor !== 0n) {
      b[this.pos++] = 8 << 3;
      this.varint64(s.devmajor);
    }
    if (s.devminor !== 0n) {
      b[this.pos++] = 9 << 3;
      this.varint64(s.devminor);
    }
    return true;
  }

  /** The STAT packet without a stat that ends the listing: an empty message. */
  endOfListing(): boolean {
    if (!this.fits(5)) return false;
    this.prefix(0);
    return true;
  }

  private dataHeaderLen(id: number, n: number): number {
    return 5 + 2 + (id !== 0 ? 1 + varintLen(id) : 0) + (n > 0 ? 1 + varintLen(n) : 0);
  }

  /**
   * Room for a DATA packet of up to `max` bytes of `id`'s file, the header sized for `expect`
   * bytes: returns where the bytes go, or -1 when it does not fit. commitData() completes it.
   */
  reserveData(id: number, max: number, expect: number): number {
    // Room for the longest header: commitData may move the bytes to make room for theirs.
    if (!this.fits(MAX_DATA_HEADER + max)) return -1;
    return this.pos + this.dataHeaderLen(id, expect);
  }

  /**
   * Writes the header in front of `n` bytes read to `at` (from reserveData with `expect`); moves
   * them when their length takes a different number of bytes than `expect`'s.
   */
  commitData(id: number, at: number, n: number, expect: number): void {
    let body = at;
    const want = this.dataHeaderLen(id, n);
    const had = this.dataHeaderLen(id, expect);
    if (want !== had) {
      body = at - had + want;
      this.buf.copyWithin(body, at, at + n);
    }
    this.dataHeader(id, n);
    this.pos = body + n;
  }

  /** The empty DATA packet that ends a file's bytes. */
  endOfFile(id: number): boolean {
    if (!this.fits(this.dataHeaderLen(id, 0))) return false;
    this.dataHeader(id, 0);
    return true;
  }

  private dataHeader(id: number, n: number): void {
    this.prefix(this.dataHeaderLen(id, n) - 5 + n);
    const b = this.buf;
    b[this.pos++] = 1 << 3;
    b[this.pos++] = PacketType.Data;
    if (id !== 0) {
      b[this.pos++] = 3 << 3;
      this.varint(id);
    }
    if (n > 0) {
      b[this.pos++] = (4 << 3) | 2;
      this.varint(n);
    }
  }

  fin(): boolean {
    return this.copyFramed(encodePacketWire({ type: PacketType.Fin }, true));
  }

  err(message: string): boolean {
    return this.copyFramed(encodePacketWire({ type: PacketType.Err, data: Buffer.from(message) }, true));
  }

  private copyFramed(frame: Uint8Array): boolean {
    if (!this.fits(frame.byteLength)) return false;
    this.buf.set(frame, this.pos);
    this.pos += frame.byteLength;
    return true;
  }
}

/** What PacketBuilder gives: packets whose data are views of `buf`. */
export interface PacketBatch {
  readonly packets: readonly Packet[];
  readonly buf: Buffer;
}

/** Roughly what a packet without data weighs, so that a batch of stats stays bounded too. */
const PACKET_WEIGHT = 64;

/** The same batches as packet objects, for a transport that encodes packets itself (a PacketStream). */
export class PacketBuilder implements BatchBuilder<PacketBatch> {
  buf: Buffer;
  private pos = 0;
  private packets: Packet[] = [];
  private spare: Buffer | undefined;

  constructor(private readonly capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  get size(): number {
    return this.pos + this.packets.length * PACKET_WEIGHT;
  }

  fits(n: number): boolean {
    if (this.buf.byteLength - this.pos >= n) return true;
    if (this.pos > 0) return false;
    this.buf = Buffer.allocUnsafe(Math.max(n, this.capacity));
    return true;
  }

  stat(s: FsStat): boolean {
    this.packets.push({ type: PacketType.Stat, stat: s });
    return true;
  }

  endOfListing(): boolean {
    this.packets.push({ type: PacketType.Stat, stat: undefined });
    return true;
  }

  reserveData(_id: number, max: number): number {
    return this.fits(max) ? this.pos : -1;
  }

  commitData(id: number, at: number, n: number): void {
    this.packets.push({ type: PacketType.Data, id, data: this.buf.subarray(at, at + n) });
    this.pos = at + n;
  }

  endOfFile(id: number): boolean {
    this.packets.push({ type: PacketType.Data, id, data: new Uint8Array(0) });
    return true;
  }

  fin(): boolean {
    this.packets.push({ type: PacketType.Fin });
    return true;
  }

  err(message: string): boolean {
    this.packets.push({ type: PacketType.Err, data: Buffer.from(message) });
    return true;
  }

  take(): PacketBatch {
    const batch = { packets: this.packets, buf: this.buf };
    this.packets = [];
    this.buf = this.spare ?? Buffer.allocUnsafe(this.capacity);
    this.spare = undefined;
    this.pos = 0;
    return batch;
  }

  recycle(batch: PacketBatch): void {
    if (batch.buf.byteLength === this.capacity) this.spare = batch.buf;
  }
}
