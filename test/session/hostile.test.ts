import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodePacket, encodePacket } from '../../worker/fs/fsutil-packet.js';
import { receiveDiffCopy } from '../../worker/fs/fsutil-receive.js';
import {
  emptyStat,
  type FsStat,
  GoMode,
  type Packet,
  type PacketStream,
  PacketType,
} from '../../worker/fs/fsutil-types.js';
import { FileSyncProtocolError } from '../../worker/fs/fsutil-validator.js';

/** A sender that plays a fixed script (through the real protobuf encoding) and records replies. */
function scripted(packets: Packet[]): { stream: PacketStream; sent: Packet[] } {
  const sent: Packet[] = [];
  const stream: PacketStream = {
    send: async (p) => {
      sent.push(decodePacket(encodePacket(p)));
    },
    end: () => {},
    async *[Symbol.asyncIterator]() {
      for (const p of packets) yield decodePacket(encodePacket(p));
    },
  };
  return { stream, sent };
}

const stat = (p: string, mode: number, extra: Partial<FsStat> = {}): Packet => ({
  type: PacketType.Stat,
  stat: { ...emptyStat(p), mode, modTime: 1_600_000_000_000_000_000n, ...extra },
});
const DIR = (GoMode.Dir | 0o755) >>> 0;
const FILE = 0o644;
const LINK = (GoMode.Symlink | 0o777) >>> 0;

let tmp: string;
let dest: string;
let outside: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-hostile-'));
  dest = path.join(tmp, 'dest');
  outside = path.join(tmp, 'outside');
  await mkdir(dest);
  await mkdir(outside);
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function expectRejected(packets: Packet[], pathInError: string, message: RegExp): Promise<void> {
  const { stream, sent } = scripted(packets);
  const err = await receiveDiffCopy(stream, dest, {}, AbortSignal.timeout(5000)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(FileSyncProtocolError);
  expect((err as FileSyncProtocolError).path).toBe(pathInError);
  expect((err as Error).message).toMatch(message);
  expect(sent.some((p) => p.type === PacketType.Err)).toBe(true);
  expect(await readdir(outside)).toEqual([]);
  expect(await readdir(tmp)).toEqual(['dest', 'outside']);
}

describe('receiver against a hostile sender', () => {
  it('rejects out-of-order entries', async () => {
    await expectRejected([stat('b', FILE), stat('a', FILE)], 'a', /out of order: "a" after "b"/);
  });
  it('rejects a child before its parent', async () => {
    await expectRejected([stat('x/y', FILE)], 'x/y', /before its parent directory "x"/);
  });
  it('rejects ../ paths', async () => {
    await expectRejected([stat('../outside/x', FILE)], '../outside/x', /escapes the destination/);
  });
  it('rejects absolute paths', async () => {
    await expectRejected([stat(path.join(outside, 'x'), FILE)], path.join(outside, 'x'), /absolute path/);
  });
  it('rejects writing through a symlink that points outside', async () => {
    await expectRejected(
      [stat('evil', LINK, { linkname: outside }), stat('evil/pwned', FILE)],
      'evil/pwned',
      /before its parent directory "evil"/,
    );
  });
  it('rejects a hardlink to a path that was not sent', async () => {
    await expectRejected([stat('a', FILE, { linkname: '../outside/x' })], '../outside/x', /escapes/);
    await expectRejected([stat('d', DIR), stat('d/h', FILE, { linkname: 'nope' })], 'd/h', /not sent before/);
  });
  it('rejects data for a file it did not request', async () => {
    const { stream, sent } = scripted([{ type: PacketType.Data, id: 7, data: Buffer.from('x') }]);
    await expect(receiveDiffCopy(stream, dest, {}, AbortSignal.timeout(5000))).rejects.toThrow(
      /unknown or finished file id 7/,
    );
    expect(sent.at(-1)?.type).toBe(PacketType.Err);
  });
  it('accepts a well-formed listing and writes only inside dest', async () => {
    const { stream, sent } = scripted([
      stat('d', DIR),
      stat('d/f', FILE, { size: 3n }),
      stat('d/l', LINK, { linkname: '../../outside' }),
      { type: PacketType.Stat, stat: undefined },
      { type: PacketType.Data, id: 1, data: Buffer.from('abc') },
      { type: PacketType.Data, id: 1, data: Buffer.alloc(0) },
      { type: PacketType.Fin },
    ]);
    const r = await receiveDiffCopy(stream, dest, {}, AbortSignal.timeout(5000));
    expect(r.bytes).toBe(3);
    expect(sent.map((p) => p.type)).toEqual([PacketType.Req, PacketType.Fin]);
    expect((await readdir(path.join(dest, 'd'))).sort()).toEqual(['f', 'l']);
  });
});
