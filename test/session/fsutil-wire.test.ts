import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodePacket,
  decodePacketSchema,
  encodePacket,
  encodePacketSchema,
} from '../../worker/fs/fsutil-packet.js';
import type { FsStat, Packet } from '../../worker/fs/fsutil-types.js';
import { FileSyncProtocolError } from '../../worker/fs/fsutil-validator.js';

// The hand-written fsutil Packet codec must give exactly the schema codec's bytes (Go's
// deterministic marshaling) and read back what it reads.

function rnd(n: number): number {
  return Math.floor(Math.random() * n);
}

function randomStat(): FsStat {
  const big = () =>
    [0n, 1n, 5000n, 1_700_000_000_123_456_789n, -1n, (1n << 63n) - 1n, -(1n << 63n)][rnd(7)] as bigint;
  const xattrs = new Map<string, Uint8Array>();
  for (let i = rnd(3); i > 0; i--) xattrs.set(`user.k${rnd(100)}`, randomBytes(rnd(4)));
  return {
    path: ['', 'a', 'dir/ünïcode file', `d${rnd(1000)}/f${rnd(100000)}.dat`][rnd(4)] as string,
    mode: [0, 0o644, 0x80000000 | 0o755, 0x08000000 | 0o777, 0xffffffff][rnd(5)] as number,
    uid: [0, 1000, 65534, 0xffffffff][rnd(4)] as number,
    gid: [0, 1000, 4294967294][rnd(3)] as number,
    size: big(),
    modTime: big(),
    linkname: ['', '../target', '/etc/passwd'][rnd(3)] as string,
    devmajor: big(),
    devminor: big(),
    xattrs,
  };
}

function randomPacket(): Packet {
  switch (rnd(6)) {
    case 0:
      return { type: 0, stat: randomStat() };
    case 1:
      return { type: 0, stat: undefined };
    case 2:
      return { type: 1, id: [0, 1, 300, 0xffffffff][rnd(4)] as number };
    case 3:
      return { type: 2, id: rnd(100000), data: randomBytes([0, 1, 5000, 32768][rnd(4)] as number) };
    case 4:
      return { type: 3 };
    default:
      return { type: 4, data: Buffer.from('boom') };
  }
}

const plain = (p: Packet) =>
  JSON.parse(
    JSON.stringify(p, (_k, v: unknown) =>
      typeof v === 'bigint'
        ? v.toString()
        : v instanceof Map
          ? [...v.entries()].map(([k, b]) => [k, Buffer.from(b as Uint8Array).toString('hex')])
          : v instanceof Uint8Array
            ? Buffer.from(v).toString('hex')
            : v,
    ),
  ) as unknown;

describe('fsutil packet codec', () => {
  it('encodes byte-for-byte like the schema codec and round-trips', () => {
    for (let i = 0; i < 300; i++) {
      const p = randomPacket();
      const fast = Buffer.from(encodePacket(p));
      expect(fast.toString('hex')).toBe(Buffer.from(encodePacketSchema(p)).toString('hex'));
      expect(plain(decodePacket(fast))).toEqual(plain(decodePacketSchema(fast)));
    }
  });

  it('rejects truncated or malformed packets with a protocol error', () => {
    const full = Buffer.from(encodePacket({ type: 0, stat: randomStat() }));
    for (let cut = 1; cut < full.length; cut++) {
      try {
        decodePacket(full.subarray(0, cut));
      } catch (err) {
        expect(err).toBeInstanceOf(FileSyncProtocolError);
      }
    }
    expect(() => decodePacket(Buffer.from([0x12, 0x05, 0x0a]))).toThrow(FileSyncProtocolError);
    expect(() => decodePacket(Buffer.from([0x08, 0x09]))).toThrow(FileSyncProtocolError);
    expect(() => decodePacket(Buffer.from([0x0f]))).toThrow(FileSyncProtocolError);
    expect(() =>
      decodePacket(Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])),
    ).toThrow(FileSyncProtocolError);
  });
});
