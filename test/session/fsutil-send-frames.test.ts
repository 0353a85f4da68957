import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodePacketSchema } from '../../worker/fs/fsutil-packet.js';
import { FrameBuilder, MAX_DATA_HEADER } from '../../worker/fs/fsutil-send-frames.js';
import type { FsStat, Packet } from '../../worker/fs/fsutil-types.js';
import { compareNames } from '../../worker/fs/walk.js';

// The sender's batch encoder must give, frame by frame, the gRPC prefix plus exactly the schema
// codec's bytes (Go's deterministic marshaling) for every packet it writes.

function rnd(n: number): number {
  return Math.floor(Math.random() * n);
}

function pick<T>(items: readonly T[]): T {
  return items[rnd(items.length)]!;
}

function randomStat(): FsStat {
  const big = () =>
    pick([0n, 1n, 127n, 128n, 5000n, 1_700_000_000_123_456_789n, -1n, (1n << 63n) - 1n, -(1n << 63n)]);
  const xattrs = new Map<string, Uint8Array>();
  if (rnd(5) === 0) xattrs.set(`user.k${rnd(100)}`, randomBytes(rnd(4)));
  return {
    path: pick([
      '',
      'a',
      'dir/ünïcode file',
      '日本/😀.txt',
      `d${rnd(1000)}/f${rnd(100000)}.dat`,
      'x'.repeat(300),
    ]),
    mode: pick([0, 0o644, 0x80000000 | 0o755, 0x08000000 | 0o777, 0xffffffff]),
    uid: pick([0, 1000, 65534, 0xffffffff]),
    gid: pick([0, 1000, 4294967294]),
    size: big(),
    modTime: big(),
    linkname: pick(['', '../target', '/etc/passwd', 'ü']),
    devmajor: big(),
    devminor: big(),
    xattrs,
  };
}

function framed(p: Packet): string {
  const body = Buffer.from(encodePacketSchema(p));
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.byteLength, 1);
  return Buffer.concat([prefix, body]).toString('hex');
}

/** Splits a batch into its frames (hex), checking each prefix. */
function frames(batch: Buffer): string[] {
  const out: string[] = [];
  let pos = 0;
  while (pos < batch.byteLength) {
    expect(batch[pos]).toBe(0);
    const len = batch.readUInt32BE(pos + 1);
    out.push(batch.subarray(pos, pos + 5 + len).toString('hex'));
    pos += 5 + len;
  }
  expect(pos).toBe(batch.byteLength);
  return out;
}

/** A DATA packet of `data`, read into place the way the sender does, the header sized for `expect`. */
function putData(b: FrameBuilder, id: number, data: Buffer, expect: number): boolean {
  const at = b.reserveData(id, 32 * 1024, expect);
  if (at < 0) return false;
  data.copy(b.buf, at);
  b.commitData(id, at, data.byteLength, expect);
  return true;
}

describe('fsutil send frames', () => {
  it('encodes every packet like the schema codec, framed, back to back', () => {
    const b = new FrameBuilder(64 * 1024);
    const want: string[] = [];
    const got: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const kind = rnd(5);
      const id = pick([0, 1, 127, 128, 300, 16384, 0xffffffff]);
      let ok: boolean;
      let p: Packet;
      if (kind === 0) {
        p = { type: 0, stat: randomStat() };
        ok = b.stat(p.stat!);
      } else if (kind === 1) {
        const data = randomBytes(pick([1, 127, 128, 5000, 16383, 16384, 32768]));
        // The size the walk saw may differ from what the read returns (the file changed).
        const expect = pick([data.byteLength, 1, 200, 20000, 32768]);
        p = { type: 2, id, data };
        ok = putData(b, id, data, expect);
      } else if (kind === 2) {
        p = { type: 2, id, data: Buffer.alloc(0) };
        ok = b.endOfFile(id);
      } else if (kind === 3) {
        p = { type: 0, stat: undefined };
        ok = b.endOfListing();
      } else {
        p = pick<Packet>([{ type: 3 }, { type: 4, data: Buffer.from('walk failed: ü') }]);
        ok = p.type === 3 ? b.fin() : b.err('walk failed: ü');
      }
      if (!ok) {
        got.push(...frames(b.take()));
        i--;
        continue;
      }
      want.push(framed(p));
    }
    got.push(...frames(b.take()));
    expect(got).toEqual(want);
  });

  it('says full when a packet does not fit, and makes room in an empty builder', () => {
    const b = new FrameBuilder(1024);
    const stat: FsStat = { ...randomStat(), path: 'p'.repeat(600), linkname: '', xattrs: new Map() };
    expect(b.stat(stat)).toBe(true);
    expect(b.stat(stat)).toBe(false);
    const first = b.take();
    expect(frames(first)).toEqual([framed({ type: 0, stat })]);
    const huge: FsStat = { ...stat, path: 'q'.repeat(5000) };
    expect(b.stat(huge)).toBe(true);
    expect(frames(b.take())).toEqual([framed({ type: 0, stat: huge })]);
    expect(b.reserveData(1, 32 * 1024 + MAX_DATA_HEADER, 10)).toBeGreaterThan(0);
  });

  it('reuses only the whole buffers it gave out', () => {
    const b = new FrameBuilder(16384);
    b.endOfListing();
    const batch = b.take();
    const next = b.buf;
    b.recycle(batch);
    b.endOfListing();
    b.take();
    // The recycled buffer is the one in use now, not a new allocation.
    expect(b.buf.buffer).toBe(batch.buffer);
    expect(next.buffer).not.toBe(batch.buffer);
    b.recycle(Buffer.alloc(10));
    b.take();
    expect(b.buf.byteLength).toBe(16384);
  });
});

describe('compareNames', () => {
  it('orders like the UTF-8 bytes, surrogates and lone surrogates included', () => {
    const alphabet = [
      'a',
      'b',
      'Z',
      '.',
      '-',
      'é',
      'ÿ',
      '\u0800',
      '\ud7ff',
      '\ue000',
      '\uffff',
      '😀',
      '𝄞',
      '\ud800',
      '\udc00',
    ];
    const word = () => Array.from({ length: rnd(4) }, () => pick(alphabet)).join('');
    for (let i = 0; i < 20000; i++) {
      const a = word();
      const b = rnd(4) === 0 ? a + word() : word();
      const want = Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
      expect([a, b, Math.sign(compareNames(a, b))]).toEqual([a, b, want]);
    }
  });
});
