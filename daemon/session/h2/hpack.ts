/**
 * HPACK (RFC 7541) for the session tunnel's HTTP/2 client: a decoder with the full dynamic table, and
 * an encoder that never indexes (so it needs no table state and no acknowledgement of the peer's
 * SETTINGS_HEADER_TABLE_SIZE). Strings are latin1 both ways, as in Node's http2, so every byte survives.
 */

import { huffmanDecode } from './huffman.js';

export class HpackError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HpackError';
  }
}

export type HeaderList = [name: string, value: string][];

/** RFC 7541 Appendix A; entry i is index i + 1. */
const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

const STATIC_COUNT = STATIC_TABLE.length;

/** RFC 7541 §4.1: an entry's size is its name and value octets plus 32. */
const ENTRY_OVERHEAD = 32;

/** Integers above this are refused: nothing in a header block legitimately needs more. */
const MAX_INTEGER = 2 ** 31 - 1;
/** 5 continuation octets carry 35 bits, enough for any integer up to MAX_INTEGER. */
const MAX_CONTINUATION_OCTETS = 5;

interface Entry {
  readonly name: string;
  readonly value: string;
  readonly size: number;
}

export class HpackDecoder {
  readonly #maxTableSize: number;
  readonly #maxListBytes: number;
  /** The table size the encoder chose last (≤ #maxTableSize). */
  #tableLimit: number;
  #tableSize = 0;
  /** Oldest first, so the newest entry (dynamic index 1) is last. */
  #entries: Entry[] = [];
  #failed: HpackError | undefined;

  /** maxTableSize: our SETTINGS_HEADER_TABLE_SIZE (4096 default); maxListBytes: limit on the decoded list (RFC 7540 header list size: sum of name+value+32), default 256 KiB. */
  constructor(opts: { maxTableSize?: number; maxListBytes?: number } = {}) {
    this.#maxTableSize = opts.maxTableSize ?? 4096;
    this.#maxListBytes = opts.maxListBytes ?? 256 * 1024;
    this.#tableLimit = this.#maxTableSize;
  }

  /** Decodes one complete header block (HEADERS + CONTINUATION payloads joined). Throws HpackError on malformed input; after a throw the decoder is unusable (the connection dies). */
  decode(block: Uint8Array): HeaderList {
    if (this.#failed !== undefined)
      throw new HpackError(`HPACK: decoder unusable after an earlier error (${this.#failed.message})`);
    try {
      return this.#decode(block);
    } catch (err) {
      this.#failed =
        err instanceof HpackError ? err : new HpackError(`HPACK: ${String(err)}`, { cause: err });
      throw this.#failed;
    }
  }

  #decode(block: Uint8Array): HeaderList {
    const buf = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    const list: HeaderList = [];
    let listBytes = 0;
    let pos = 0;

    const readInt = (prefixBits: number): number => {
      const mask = (1 << prefixBits) - 1;
      let value = buf[pos++]! & mask;
      if (value < mask) return value;
      for (let n = 0; ; n++) {
        if (n === MAX_CONTINUATION_OCTETS)
          throw new HpackError(`HPACK: integer longer than ${MAX_CONTINUATION_OCTETS} continuation octets`);
        if (pos >= buf.length) throw new HpackError('HPACK: truncated integer');
        const octet = buf[pos++]!;
        value += (octet & 0x7f) * 2 ** (7 * n);
        if (value > MAX_INTEGER) throw new HpackError(`HPACK: integer exceeds ${MAX_INTEGER}`);
        if ((octet & 0x80) === 0) return value;
      }
    };

    const readString = (what: string): string => {
      if (pos >= buf.length) throw new HpackError(`HPACK: truncated ${what}`);
      const huffman = (buf[pos]! & 0x80) !== 0;
      const length = readInt(7);
      if (length > buf.length - pos)
        throw new HpackError(`HPACK: ${what} of ${length} bytes runs past the block end`);
      const start = pos;
      pos += length;
      if (!huffman) return buf.toString('latin1', start, pos);
      const r = huffmanDecode(buf, start, pos);
      if (!r.ok) throw new HpackError(`HPACK: ${what}: ${r.reason}`);
      return r.bytes.toString('latin1');
    };

    const readLiteral = (nameIndex: number): [string, string] => {
      const name = nameIndex === 0 ? readString('header name') : this.#lookup(nameIndex)[0];
      return [name, readString('header value')];
    };

    const emit = (name: string, value: string): void => {
      listBytes += name.length + value.length + ENTRY_OVERHEAD;
      if (listBytes > this.#maxListBytes)
        throw new HpackError(`HPACK: header list exceeds ${this.#maxListBytes} bytes`);
      list.push([name, value]);
    };

    while (pos < buf.length) {
      const first = buf[pos]!;
      if (first & 0x80) {
        // Indexed header field (§6.1).
        const e = this.#lookup(readInt(7));
        emit(e[0], e[1]);
      } else if (first & 0x40) {
        // Literal with incremental indexing (§6.2.1).
        const [name, value] = readLiteral(readInt(6));
        emit(name, value);
        this.#insert(name, value);
      } else if (first & 0x20) {
        // Dynamic table size update (§6.3): only before the first field of a block (§4.2).
        if (list.length > 0) throw new HpackError('HPACK: dynamic table size update after a header field');
        const size = readInt(5);
        if (size > this.#maxTableSize)
          throw new HpackError(
            `HPACK: dynamic table size update to ${size} exceeds the limit ${this.#maxTableSize}`,
          );
        this.#tableLimit = size;
        this.#evict(0);
      } else {
        // Literal without indexing (0000) or never indexed (0001) (§6.2.2, §6.2.3).
        const [name, value] = readLiteral(readInt(4));
        emit(name, value);
      }
    }
    return list;
  }

  #lookup(index: number): readonly [string, string] {
    if (index === 0) throw new HpackError('HPACK: index 0 is not valid');
    if (index <= STATIC_COUNT) return STATIC_TABLE[index - 1]!;
    const entry = this.#entries[this.#entries.length - (index - STATIC_COUNT)];
    if (entry === undefined)
      throw new HpackError(
        `HPACK: index ${index} out of range (table has ${STATIC_COUNT + this.#entries.length} entries)`,
      );
    return [entry.name, entry.value];
  }

  #insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    // An entry larger than the whole table empties it and is not added (§4.4).
    this.#evict(size);
    if (size <= this.#tableLimit) {
      this.#entries.push({ name, value, size });
      this.#tableSize += size;
    }
  }

  /** Evicts oldest entries until `room` more bytes fit under the table limit (or the table is empty). */
  #evict(room: number): void {
    let drop = 0;
    while (drop < this.#entries.length && this.#tableSize + room > this.#tableLimit) {
      this.#tableSize -= this.#entries[drop]!.size;
      drop++;
    }
    if (drop > 0) this.#entries.splice(0, drop);
  }
}

/** Exact static matches by "name\0value", and the first static index of each name. */
const STATIC_EXACT = new Map<string, number>();
const STATIC_NAME = new Map<string, number>();
STATIC_TABLE.forEach(([name, value], i) => {
  STATIC_EXACT.set(`${name}\0${value}`, i + 1);
  if (!STATIC_NAME.has(name)) STATIC_NAME.set(name, i + 1);
});

/** Lower-case token characters (RFC 7230 tchar), with a leading ':' for pseudo-headers. */
const VALID_NAME = /^:?[a-z0-9!#$%&'*+\-.^_`|~]+$/;
/** latin1 without NUL, CR and LF (RFC 7540 §10.3). */
const INVALID_VALUE = /[\0\r\n\u0100-\uffff]/;

function writeInt(buf: Buffer, pos: number, prefixBits: number, flags: number, value: number): number {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) {
    buf[pos++] = flags | value;
    return pos;
  }
  buf[pos++] = flags | mask;
  let rest = value - mask;
  while (rest >= 0x80) {
    buf[pos++] = (rest & 0x7f) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  buf[pos++] = rest;
  return pos;
}

function writeString(buf: Buffer, pos: number, s: string): number {
  pos = writeInt(buf, pos, 7, 0x00, s.length);
  return pos + buf.write(s, pos, 'latin1');
}

/** Encodes without touching any dynamic table and without Huffman: an exact static-table match (name+value) as an indexed field; a static name as 'literal without indexing, indexed name'; otherwise 'literal without indexing, new name'. Names must already be lower case. */
export function encodeHeaders(headers: readonly (readonly [string, string])[]): Buffer {
  // Per field at most: 1 + 5 octets of name index or length, the name, 5 octets of value length, the value.
  let bound = 0;
  for (const [name, value] of headers) {
    if (!VALID_NAME.test(name)) throw new HpackError(`HPACK: invalid header name ${JSON.stringify(name)}`);
    if (INVALID_VALUE.test(value))
      throw new HpackError(`HPACK: header ${name} has a value with NUL, CR, LF or a non-latin1 character`);
    bound += 11 + name.length + value.length;
  }
  const buf = Buffer.allocUnsafe(bound);
  let pos = 0;
  for (const [name, value] of headers) {
    const exact = STATIC_EXACT.get(`${name}\0${value}`);
    if (exact !== undefined) {
      pos = writeInt(buf, pos, 7, 0x80, exact);
      continue;
    }
    const nameIndex = STATIC_NAME.get(name);
    if (nameIndex !== undefined) {
      pos = writeInt(buf, pos, 4, 0x00, nameIndex);
    } else {
      buf[pos++] = 0x00;
      pos = writeString(buf, pos, name);
    }
    pos = writeString(buf, pos, value);
  }
  return buf.subarray(0, pos);
}
