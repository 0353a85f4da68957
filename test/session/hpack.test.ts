import http2 from 'node:http2';
import net from 'node:net';
import { smallFrame } from '../../daemon/session/h2/frames.js';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeHeaders, HpackDecoder, HpackError, type HeaderList } from '../../daemon/session/h2/hpack.js';
import { EOS, HUFFMAN_CODE_LENGTHS, huffmanCode, huffmanDecode } from '../../daemon/session/h2/huffman.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Huffman-encodes bytes with the derived codes, padding with ones (RFC 7541 §5.2). */
function huffmanEncode(bytes: Uint8Array): Buffer {
  const out: number[] = [];
  let acc = 0;
  let n = 0;
  const put = (code: number, bits: number): void => {
    for (let i = bits - 1; i >= 0; i--) {
      acc = (acc << 1) | (Math.floor(code / 2 ** i) & 1);
      if (++n === 8) {
        out.push(acc);
        acc = 0;
        n = 0;
      }
    }
  };
  for (const b of bytes) {
    const { code, bits } = huffmanCode(b);
    put(code, bits);
  }
  if (n > 0) put(0xff, 8 - n);
  return Buffer.from(out);
}

interface Step {
  block: string;
  headers: HeaderList;
  /** The dynamic table afterwards, newest first (index 62 first). */
  table: HeaderList;
}

/**
 * Decodes steps[0..k] with one decoder for every k, then reads the dynamic table back through
 * indexed fields 62.. and checks that the next index is out of range (which ends that decoder).
 */
function runSequence(opts: { maxTableSize?: number }, steps: Step[]): void {
  for (let k = 0; k < steps.length; k++) {
    const dec = new HpackDecoder(opts);
    for (const step of steps.slice(0, k + 1)) expect(dec.decode(hex(step.block))).toEqual(step.headers);
    const table = steps[k]!.table;
    expect(dec.decode(Buffer.from(table.map((_, i) => 0x80 | (62 + i))))).toEqual(table);
    expect(() => dec.decode(Buffer.from([0x80 | (62 + table.length)]))).toThrow(
      `index ${62 + table.length} out of range (table has ${61 + table.length} entries)`,
    );
  }
}

// RFC 7541 C.3 / C.4: three requests on one connection.
const REQ1: HeaderList = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/'],
  [':authority', 'www.example.com'],
];
const REQ2: HeaderList = [...REQ1, ['cache-control', 'no-cache']];
const REQ3: HeaderList = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':path', '/index.html'],
  [':authority', 'www.example.com'],
  ['custom-key', 'custom-value'],
];
const REQ_TABLES: HeaderList[] = [
  [[':authority', 'www.example.com']],
  [
    ['cache-control', 'no-cache'],
    [':authority', 'www.example.com'],
  ],
  [
    ['custom-key', 'custom-value'],
    ['cache-control', 'no-cache'],
    [':authority', 'www.example.com'],
  ],
];

// RFC 7541 C.5 / C.6: three responses with a 256-byte table, so entries get evicted.
const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const LOCATION = 'https://www.example.com';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const RES1: HeaderList = [
  [':status', '302'],
  ['cache-control', 'private'],
  ['date', DATE1],
  ['location', LOCATION],
];
const RES2: HeaderList = [[':status', '307'], ...RES1.slice(1)];
const RES3: HeaderList = [
  [':status', '200'],
  ['cache-control', 'private'],
  ['date', DATE2],
  ['location', LOCATION],
  ['content-encoding', 'gzip'],
  ['set-cookie', COOKIE],
];
const RES_TABLES: HeaderList[] = [
  [
    ['location', LOCATION],
    ['date', DATE1],
    ['cache-control', 'private'],
    [':status', '302'],
  ],
  [
    [':status', '307'],
    ['location', LOCATION],
    ['date', DATE1],
    ['cache-control', 'private'],
  ],
  [
    ['set-cookie', COOKIE],
    ['content-encoding', 'gzip'],
    ['date', DATE2],
  ],
];

describe('HpackDecoder: RFC 7541 Appendix C', () => {
  it('C.2 literal field representations', () => {
    runSequence({}, [
      {
        block: '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572',
        headers: [['custom-key', 'custom-header']],
        table: [['custom-key', 'custom-header']],
      },
    ]);
    for (const [block, header] of [
      ['040c 2f73 616d 706c 652f 7061 7468', [':path', '/sample/path']],
      ['1008 7061 7373 776f 7264 0673 6563 7265 74', ['password', 'secret']],
      ['82', [':method', 'GET']],
    ] as const)
      runSequence({}, [{ block, headers: [[...header]], table: [] }]);
  });

  it('C.3 requests without Huffman coding', () => {
    runSequence({}, [
      { block: '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', headers: REQ1, table: REQ_TABLES[0]! },
      { block: '8286 84be 5808 6e6f 2d63 6163 6865', headers: REQ2, table: REQ_TABLES[1]! },
      {
        block: '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
        headers: REQ3,
        table: REQ_TABLES[2]!,
      },
    ]);
  });

  it('C.4 requests with Huffman coding', () => {
    runSequence({}, [
      { block: '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', headers: REQ1, table: REQ_TABLES[0]! },
      { block: '8286 84be 5886 a8eb 1064 9cbf', headers: REQ2, table: REQ_TABLES[1]! },
      {
        block: '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
        headers: REQ3,
        table: REQ_TABLES[2]!,
      },
    ]);
  });

  it('C.5 responses without Huffman coding, with eviction', () => {
    runSequence({ maxTableSize: 256 }, [
      {
        block: `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a
                3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`,
        headers: RES1,
        table: RES_TABLES[0]!,
      },
      { block: '4803 3330 37c1 c0bf', headers: RES2, table: RES_TABLES[1]! },
      {
        block: `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04
                677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49
                553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`,
        headers: RES3,
        table: RES_TABLES[2]!,
      },
    ]);
  });

  it('C.6 responses with Huffman coding, with eviction', () => {
    runSequence({ maxTableSize: 256 }, [
      {
        block: `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e
                919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
        headers: RES1,
        table: RES_TABLES[0]!,
      },
      { block: '4883 640e ffc1 c0bf', headers: RES2, table: RES_TABLES[1]! },
      {
        block: `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7
                821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed
                4ee5 b106 3d50 07`,
        headers: RES3,
        table: RES_TABLES[2]!,
      },
    ]);
  });
});

describe('Huffman code', () => {
  it('derives the RFC 7541 Appendix B codes from the code lengths', () => {
    expect(HUFFMAN_CODE_LENGTHS).toHaveLength(257);
    // Kraft sum exactly 1: the code is complete, so every bit string is a codeword prefix.
    expect(HUFFMAN_CODE_LENGTHS.reduce((sum, len) => sum + 2 ** (30 - len), 0)).toBe(2 ** 30);
    const rows: [number, number, number][] = [
      [0x30, 0b00000, 5], // '0'
      [0x61, 0b00011, 5], // 'a'
      [0x20, 0b010100, 6], // ' '
      [0x00, 0b1111111111000, 13],
      [0x01, 0x7fffd8, 23],
      [0x09, 0xffffea, 24],
      [0x16, 0x3ffffffe, 30],
      [0x1a, 0xffffff6, 28],
      [EOS, 0x3fffffff, 30],
    ];
    for (const [sym, code, bits] of rows) expect(huffmanCode(sym)).toEqual({ code, bits });
  });

  it('round-trips every byte value', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    for (const input of [all, Buffer.from(all).reverse(), Buffer.from('www.example.com'), Buffer.alloc(0)]) {
      const enc = huffmanEncode(input);
      const r = huffmanDecode(enc, 0, enc.length);
      expect(r).toEqual({ ok: true, bytes: input });
    }
  });

  it('rejects bad padding and EOS', () => {
    // 'a' (00011) then three zero bits of padding.
    expect(huffmanDecode(Buffer.from([0x18]), 0, 1)).toEqual({
      ok: false,
      reason: 'Huffman padding is not all ones',
    });
    // A whole octet of padding.
    expect(huffmanDecode(Buffer.from([0xff]), 0, 1)).toMatchObject({ ok: false });
    expect(huffmanDecode(Buffer.from([0x1f, 0xff]), 0, 2)).toEqual({
      ok: false,
      reason: 'Huffman padding of 11 bits (at most 7 allowed)',
    });
    // EOS is 30 ones.
    expect(huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4)).toEqual({
      ok: false,
      reason: 'Huffman string contains EOS',
    });
  });
});

describe('HpackDecoder: malformed input', () => {
  const cases: [string, Buffer, { maxTableSize?: number; maxListBytes?: number }, string][] = [
    ['truncated integer', Buffer.from([0xff]), {}, 'truncated integer'],
    ['truncated integer continuation', Buffer.from([0xff, 0x80]), {}, 'truncated integer'],
    ['too many continuation octets', hex('ff 8080808080 00'), {}, 'longer than 5 continuation octets'],
    ['integer overflow', hex('ff ffffffff0f'), {}, 'integer exceeds 2147483647'],
    ['index 0', Buffer.from([0x80]), {}, 'index 0 is not valid'],
    ['index beyond the table', Buffer.from([0x80 | 90]), {}, 'index 90 out of range (table has 61 entries)'],
    ['name index beyond the table', hex('7f 03 00'), {}, 'index 66 out of range (table has 61 entries)'],
    ['truncated string', hex('00 05 61'), {}, 'header name of 5 bytes runs past the block end'],
    ['missing value', hex('00 01 61'), {}, 'truncated header value'],
    ['bad Huffman padding', hex('00 01 78 81 18'), {}, 'header value: Huffman padding is not all ones'],
    ['padding longer than 7 bits', hex('00 01 78 82 1fff'), {}, 'Huffman padding of 11 bits'],
    ['EOS in a string', hex('00 84 ffffffff 00'), {}, 'header name: Huffman string contains EOS'],
    // 0x3f 0xa9 0x01: 31 + 0x29 + 1 * 128 = 200.
    ['size update above the maximum', hex('3f a901'), { maxTableSize: 100 }, 'to 200 exceeds the limit 100'],
    ['size update after a field', hex('82 20'), {}, 'size update after a header field'],
    // :method GET counts 7 + 3 + 32 = 42 bytes.
    ['list over maxListBytes', hex('82 82 82'), { maxListBytes: 100 }, 'header list exceeds 100 bytes'],
  ];
  it.each(cases)('%s', (_, block, opts, message) => {
    const dec = new HpackDecoder(opts);
    let caught: unknown;
    try {
      dec.decode(block);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(HpackError);
    expect((caught as HpackError).name).toBe('HpackError');
    expect((caught as HpackError).message).toContain(message);
    // The connection dies with the decoder: it refuses further blocks.
    expect(() => dec.decode(Buffer.from([0x82]))).toThrow(/unusable/);
  });

  it('accepts size updates at the block start and evicts to fit', () => {
    const dec = new HpackDecoder({ maxTableSize: 256 });
    // custom-key: custom-header, 55 bytes.
    dec.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
    expect(dec.decode(Buffer.from([0xbe]))).toEqual([['custom-key', 'custom-header']]);
    // Two updates in a row (RFC 7541 §4.2): to 54, which evicts the 55-byte entry, then to 160.
    expect(dec.decode(hex('3f17 3f81 01 82'))).toEqual([[':method', 'GET']]);
    expect(() => dec.decode(Buffer.from([0xbe]))).toThrow('index 62 out of range (table has 61 entries)');
  });

  it('empties the table for an entry larger than the table and does not add it', () => {
    const dec = new HpackDecoder({ maxTableSize: 64 });
    dec.decode(hex('4001 61 01 62')); // a: b, 34 bytes
    expect(dec.decode(Buffer.from([0xbe]))).toEqual([['a', 'b']]);
    const big = 'x'.repeat(40);
    const block = Buffer.concat([hex('4001 63 28'), Buffer.from(big)]);
    expect(dec.decode(block)).toEqual([['c', big]]);
    expect(() => dec.decode(Buffer.from([0xbe]))).toThrow('table has 61 entries');
  });
});

describe('encodeHeaders', () => {
  it('uses the static table without indexing anything', () => {
    expect(encodeHeaders([[':method', 'POST']])).toEqual(hex('83'));
    expect(encodeHeaders([[':path', '/x']])).toEqual(hex('04 02 2f78'));
    // content-type is static index 31: 15 in the 4-bit prefix, then 16.
    expect(encodeHeaders([['content-type', 'a']])).toEqual(hex('0f10 01 61'));
    expect(encodeHeaders([['te', 'trailers']])).toEqual(hex('00 02 7465 08 7472 6169 6c65 7273'));
  });

  it('round-trips through HpackDecoder', () => {
    const latin1 = Array.from({ length: 0x80 }, (_, i) => String.fromCharCode(0x80 + i)).join('');
    const headers: HeaderList = [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/moby.filesync.v1.FileSync/DiffCopy'],
      [':authority', 'localhost'],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ['accept-encoding', 'gzip, deflate'],
      ['x-empty', ''],
      ['x-long', 'v'.repeat(5000)],
      ['x-latin1', latin1],
      ['grpc-message', 'failed: 50%25 done (disk full)'],
    ];
    const dec = new HpackDecoder();
    expect(dec.decode(encodeHeaders(headers))).toEqual(headers);
    // Nothing was indexed, so the same block decodes the same again.
    expect(dec.decode(encodeHeaders(headers))).toEqual(headers);
    expect(() => dec.decode(Buffer.from([0xbe]))).toThrow('table has 61 entries');
  });

  it('rejects names that are not lower-case tokens and values with CR, LF, NUL or non-latin1', () => {
    for (const bad of [
      ['Content-Type', 'x'],
      ['', 'x'],
      ['a b', 'x'],
      ['x', 'a\r\nb: c'],
      ['x', 'a\0'],
      ['x', '\u2028'],
    ] as const)
      expect(() => encodeHeaders([bad])).toThrow(HpackError);
  });
});

interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

const FRAME = { DATA: 0, HEADERS: 1, SETTINGS: 4, GOAWAY: 7, CONTINUATION: 9 } as const;
const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

const frameBytes = smallFrame;

async function* readFrames(sock: net.Socket): AsyncGenerator<Frame> {
  let buf = Buffer.alloc(0);
  for await (const chunk of sock) {
    buf = Buffer.concat([buf, chunk as Buffer]);
    while (buf.length >= 9) {
      const length = buf.readUIntBE(0, 3);
      if (buf.length < 9 + length) break;
      yield {
        type: buf[3]!,
        flags: buf[4]!,
        stream: buf.readUInt32BE(5) & 0x7fffffff,
        payload: buf.subarray(9, 9 + length),
      };
      buf = buf.subarray(9 + length);
    }
  }
}

/** A header block's fragment in a HEADERS frame, without padding and priority fields. */
function headersFragment(f: Frame): Buffer {
  let p = f.payload;
  let pad = 0;
  if (f.flags & FLAG.PADDED) {
    pad = p[0]!;
    p = p.subarray(1);
  }
  if (f.flags & FLAG.PRIORITY) p = p.subarray(5);
  return p.subarray(0, p.length - pad);
}

describe('HpackDecoder against nghttp2 (node:http2)', () => {
  it('decodes responses and trailers across streams and accepts encodeHeaders requests', async () => {
    const latin1 = Array.from({ length: 0x80 }, (_, i) => String.fromCharCode(0x80 + i)).join('');
    const printable = Array.from({ length: 0x5f }, (_, i) => String.fromCharCode(0x20 + i)).join('');
    const trace = `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01; spans=${'abc123 '.repeat(20)}`;
    const big = 'chunk-of-a-long-value;'.repeat(1000); // over 16 KiB: HEADERS + CONTINUATION
    // nghttp2 Huffman-codes a string only when that is shorter: runs of 'e' (5 bits) pay for the
    // 19- to 28-bit codes of tab, printable ASCII and 0x80..0xff.
    const huffed = [...`\t${printable}${latin1}`].map((c) => `${c}eeeeeeeeee`).join('');
    const responseHeaders = (n: number): http2.OutgoingHttpHeaders => ({
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-accept-encoding': 'identity,deflate,gzip',
      'x-kiln-trace': trace,
      'x-kiln-bytes': `\t${printable}${latin1}`,
      'x-kiln-huffed': huffed,
      'x-kiln-secret': `token-${n}`,
      [http2.sensitiveHeaders]: ['x-kiln-secret'],
      ...(n === 1 ? { 'x-kiln-big': big } : {}),
    });
    const trailers = (n: number): http2.OutgoingHttpHeaders => ({
      'grpc-status': '0',
      'grpc-message': `request ${n}: 100% done, 0% failed (see /tmp/kiln%20log)`,
    });

    const seen: http2.IncomingHttpHeaders[] = [];
    const server = http2.createServer({ paddingStrategy: http2.constants.PADDING_STRATEGY_MAX });
    server.on('stream', (stream, headers) => {
      seen.push(headers);
      const n = seen.length;
      stream.respond(responseHeaders(n), { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers(trailers(n)));
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as net.AddressInfo;
    const sock = net.connect(port, '127.0.0.1');
    cleanups.push(() => void sock.destroy());
    await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));

    const request: [string, string][] = [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/x'],
      [':authority', 'localhost'],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
    ];
    sock.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'));
    sock.write(frameBytes(FRAME.SETTINGS, 0, 0, Buffer.alloc(0)));

    const frames = readFrames(sock);
    const decoder = new HpackDecoder();
    let padded = 0;
    let continued = 0;

    /** Reads frames until `stream` ends; returns its header blocks, decoded, with their sizes. */
    const readStream = async (stream: number): Promise<{ list: HeaderList; block: Buffer }[]> => {
      const blocks: { list: HeaderList; block: Buffer }[] = [];
      let fragments: Buffer[] | undefined;
      let endAfterBlock = false;
      for (;;) {
        const next = await frames.next();
        if (next.done === true) throw new Error('connection closed');
        const f = next.value;
        if (f.type === FRAME.GOAWAY) throw new Error(`GOAWAY ${f.payload.toString('hex')}`);
        if (f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) === 0)
          sock.write(frameBytes(FRAME.SETTINGS, FLAG.ACK, 0, Buffer.alloc(0)));
        if (f.type === FRAME.HEADERS) {
          expect(fragments).toBeUndefined();
          if (f.flags & FLAG.PADDED) padded++;
          fragments = [headersFragment(f)];
          endAfterBlock = (f.flags & FLAG.END_STREAM) !== 0;
        } else if (f.type === FRAME.CONTINUATION) {
          expect(fragments).toBeDefined();
          continued++;
          fragments!.push(f.payload);
        } else if (f.type === FRAME.DATA && f.stream === stream && f.flags & FLAG.END_STREAM) {
          return blocks;
        }
        if ((f.type === FRAME.HEADERS || f.type === FRAME.CONTINUATION) && f.flags & FLAG.END_HEADERS) {
          expect(f.stream).toBe(stream);
          const block = Buffer.concat(fragments!);
          fragments = undefined;
          blocks.push({ list: decoder.decode(block), block });
          if (endAfterBlock) return blocks;
        }
      }
    };

    const responses: { list: HeaderList; block: Buffer }[][] = [];
    for (const stream of [1, 3]) {
      sock.write(
        frameBytes(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, stream, encodeHeaders(request)),
      );
      responses.push(await readStream(stream));
    }

    // The server's handler saw our request headers.
    expect(seen).toHaveLength(2);
    for (const h of seen)
      for (const [name, value] of request) expect({ name, value: h[name] }).toEqual({ name, value });

    for (const [i, blocks] of responses.entries()) {
      const n = i + 1;
      expect(blocks).toHaveLength(2); // response headers, then trailers
      const got = blocks[0]!.list;
      const expected = Object.entries(responseHeaders(n)).map(([k, v]) => [k, String(v)]);
      const withoutDate = got.filter(([name]) => name !== 'date');
      expect(withoutDate).toEqual(expected);
      expect(got.find(([name]) => name === 'date')?.[1]).toMatch(/ GMT$/);
      expect(blocks[1]!.list).toEqual(Object.entries(trailers(n)));
    }
    // The first response carried these values as Huffman strings, not as raw octets.
    const [headers1, trailers1] = responses[0]!;
    for (const [block, value] of [
      [headers1!.block, huffed],
      [headers1!.block, big],
      [trailers1!.block, trailers(1)['grpc-message'] as string],
    ] as const)
      expect(block.includes(Buffer.from(value, 'latin1'))).toBe(false);
    // The second response reuses the first one's dynamic table entries: its block is a few bytes
    // for several hundred bytes of headers.
    const second = responses[1]![0]!;
    expect(second.list.reduce((s, [k, v]) => s + k.length + v.length, 0)).toBeGreaterThan(400);
    expect(second.block.length).toBeLessThan(80);
    expect(padded).toBeGreaterThan(0);
    expect(continued).toBeGreaterThan(0);
  });
});
