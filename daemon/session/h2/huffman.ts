/**
 * The HPACK Huffman code (RFC 7541 Appendix B). The code is canonical (codes of one length are
 * consecutive, ordered by symbol), so the 257 code lengths determine every code; decoding walks the
 * bits against per-length first codes instead of a 257-row table or a tree.
 */

/** Symbol 256 ends a string in the code but must never appear decoded (RFC 7541 §5.2). */
export const EOS = 256;

/** Code length in bits of each symbol: bytes 0x00..0xff, then EOS. Sixteen symbols a row. */
// prettier-ignore
export const HUFFMAN_CODE_LENGTHS: readonly number[] = [
  /* 0x00 */ 13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  /* 0x10 */ 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  /* 0x20 */ 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  /* 0x30 */ 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  /* 0x40 */ 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  /* 0x50 */ 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  /* 0x60 */ 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  /* 0x70 */ 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  /* 0x80 */ 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  /* 0x90 */ 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  /* 0xa0 */ 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  /* 0xb0 */ 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  /* 0xc0 */ 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  /* 0xd0 */ 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  /* 0xe0 */ 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  /* 0xf0 */ 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  /* EOS  */ 30,
];

const MAX_BITS = 30;

/** Symbols ordered by (code length, symbol): the order in which canonical codes are handed out. */
const SYMBOLS_BY_CODE = new Uint16Array(HUFFMAN_CODE_LENGTHS.length);
/** Number of codes of each length. */
const COUNT = new Int32Array(MAX_BITS + 1);
/** The first (smallest) code of each length. */
const FIRST_CODE = new Int32Array(MAX_BITS + 1);
/** Where the codes of each length start in SYMBOLS_BY_CODE. */
const FIRST_INDEX = new Int32Array(MAX_BITS + 1);
/** Derived code of each symbol (right-aligned in `length` bits). */
const CODES = new Int32Array(HUFFMAN_CODE_LENGTHS.length);

{
  for (const len of HUFFMAN_CODE_LENGTHS) COUNT[len]! += 1;
  let code = 0;
  let index = 0;
  for (let len = 1; len <= MAX_BITS; len++) {
    FIRST_CODE[len] = code;
    FIRST_INDEX[len] = index;
    code = (code + COUNT[len]!) * 2;
    index += COUNT[len]!;
  }
  // Within one length, codes go to symbols in ascending order.
  const nextCode = FIRST_CODE.slice();
  const nextIndex = FIRST_INDEX.slice();
  HUFFMAN_CODE_LENGTHS.forEach((len, sym) => {
    CODES[sym] = nextCode[len]!++;
    SYMBOLS_BY_CODE[nextIndex[len]!++] = sym;
  });
}

/** The derived canonical code of a symbol (0..256), right-aligned in `bits` bits. */
export function huffmanCode(symbol: number): { code: number; bits: number } {
  const bits = HUFFMAN_CODE_LENGTHS[symbol];
  if (bits === undefined) throw new RangeError(`no Huffman symbol ${symbol}`);
  return { code: CODES[symbol]!, bits };
}

export type HuffmanResult = { ok: true; bytes: Buffer } | { ok: false; reason: string };

/** Decodes src[start, end) as a Huffman-coded string literal. */
export function huffmanDecode(src: Uint8Array, start: number, end: number): HuffmanResult {
  // The shortest code is 5 bits, so n input bytes hold at most 8n/5 symbols.
  const out = Buffer.allocUnsafe(Math.floor(((end - start) * 8) / 5));
  let o = 0;
  let code = 0;
  let len = 0;
  for (let i = start; i < end; i++) {
    const byte = src[i]!;
    for (let shift = 7; shift >= 0; shift--) {
      code = code * 2 + ((byte >> shift) & 1);
      len++;
      // In a canonical code a prefix that matched no shorter length is >= FIRST_CODE[len].
      const k = code - FIRST_CODE[len]!;
      if (k < COUNT[len]!) {
        const sym = SYMBOLS_BY_CODE[FIRST_INDEX[len]! + k]!;
        if (sym === EOS) return { ok: false, reason: 'Huffman string contains EOS' };
        out[o++] = sym;
        code = 0;
        len = 0;
      } else if (len === MAX_BITS) {
        return { ok: false, reason: 'invalid Huffman code' }; // unreachable while the code is complete
      }
    }
  }
  // What is left must be a prefix of EOS (all ones) no longer than 7 bits (RFC 7541 §5.2).
  if (len > 7) return { ok: false, reason: `Huffman padding of ${len} bits (at most 7 allowed)` };
  if (code !== (1 << len) - 1) return { ok: false, reason: 'Huffman padding is not all ones' };
  return { ok: true, bytes: out.subarray(0, o) };
}
