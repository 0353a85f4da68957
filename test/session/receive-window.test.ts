import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { throttleProgress } from '../../daemon/session/filesync.js';
import { decodePacket, encodePacket } from '../../worker/fs/fsutil-packet.js';
import { MAX_REQUESTS_IN_FLIGHT, receiveDiffCopy } from '../../worker/fs/fsutil-receive.js';
import {
  emptyStat,
  GoMode,
  type Packet,
  type PacketStream,
  PacketType,
} from '../../worker/fs/fsutil-types.js';

// The receiver's side of a transfer: a bounded window of file requests (kilnd and kilnctl, both
// Node, hung when each had a socket buffer full of unread data), the writer thread for small new
// files, and its errors.

const DIR = (GoMode.Dir | 0o755) >>> 0;
const content = (i: number) => Buffer.from(`file ${i}\n`.repeat(i % 5));

/**
 * A sender that lists `n` files under `d/` and answers each REQ with its content, recording the
 * most requests ever outstanding. Packets go through the real protobuf encoding.
 */
function sender(
  n: number,
  name: (i: number) => string = (i) => `f${String(i).padStart(5, '0')}`,
  batched = false,
): { stream: PacketStream; maxOutstanding: () => number } {
  const incoming: Packet[] = [{ type: PacketType.Stat, stat: { ...emptyStat('d'), mode: DIR } }];
  for (let i = 0; i < n; i++)
    incoming.push({
      type: PacketType.Stat,
      stat: { ...emptyStat(`d/${name(i)}`), mode: 0o640, size: BigInt(content(i).byteLength) },
    });
  incoming.push({ type: PacketType.Stat, stat: undefined });
  let outstanding = 0;
  let max = 0;
  let wake: (() => void) | undefined;
  let done = false;
  const stream: PacketStream = {
    send: async (p) => {
      const q = decodePacket(encodePacket(p));
      if (q.type === PacketType.Req) {
        outstanding++;
        max = Math.max(max, outstanding);
        // Stat ids count from 0 with the directory: file i has id i + 1.
        const data = content(q.id - 1);
        if (data.byteLength > 0) incoming.push({ type: PacketType.Data, id: q.id, data });
        incoming.push({ type: PacketType.Data, id: q.id, data: new Uint8Array(0) });
      } else if (q.type === PacketType.Fin) {
        incoming.push({ type: PacketType.Fin });
        done = true;
      } else if (q.type === PacketType.Err) {
        done = true;
      }
      wake?.();
    },
    end: () => {},
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const p = incoming.shift();
        if (p) {
          if (p.type === PacketType.Data && p.data.byteLength === 0) outstanding--;
          yield decodePacket(encodePacket(p));
          continue;
        }
        if (done) return;
        await new Promise<void>((r) => {
          wake = r;
        });
      }
    },
  };
  if (batched) {
    // As the session transport: whatever has arrived, at once.
    stream.nextBatch = async () => {
      for (;;) {
        if (incoming.length > 0) {
          const batch = incoming.splice(0);
          for (const p of batch) if (p.type === PacketType.Data && p.data.byteLength === 0) outstanding--;
          return batch.map((p) => decodePacket(encodePacket(p)));
        }
        if (done) return undefined;
        await new Promise<void>((r) => {
          wake = r;
        });
      }
    };
  }
  return { stream, maxOutstanding: () => max };
}

let tmp: string;
let dest: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-window-'));
  dest = path.join(tmp, 'dest');
  await mkdir(dest);
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('receiveDiffCopy', () => {
  it('keeps at most MAX_REQUESTS_IN_FLIGHT files requested and writes every file', async () => {
    const n = 3 * MAX_REQUESTS_IN_FLIGHT + 17;
    const s = sender(n);
    const r = await receiveDiffCopy(s.stream, dest, {}, AbortSignal.timeout(20_000));
    expect(r.filesRequested).toBe(n);
    expect(s.maxOutstanding()).toBe(MAX_REQUESTS_IN_FLIGHT);
    const names = await readdir(path.join(dest, 'd'));
    expect(names.length).toBe(n);
    for (const i of [0, 1, 4, 300, n - 1]) {
      const p = path.join(dest, 'd', `f${String(i).padStart(5, '0')}`);
      expect(await readFile(p)).toEqual(content(i));
      expect((await stat(p)).mode & 0o7777).toBe(0o640);
    }
  });

  it('keeps the window when packets come in batches', async () => {
    const n = 3 * MAX_REQUESTS_IN_FLIGHT + 17;
    const s = sender(n, undefined, true);
    const r = await receiveDiffCopy(s.stream, dest, {}, AbortSignal.timeout(20_000));
    expect(r.filesRequested).toBe(n);
    expect(s.maxOutstanding()).toBe(MAX_REQUESTS_IN_FLIGHT);
    const names = await readdir(path.join(dest, 'd'));
    expect(names.length).toBe(n);
    for (const i of [0, 1, 4, 300, n - 1]) {
      const p = path.join(dest, 'd', `f${String(i).padStart(5, '0')}`);
      expect(await readFile(p)).toEqual(content(i));
      expect((await stat(p)).mode & 0o7777).toBe(0o640);
    }
  });

  it('writes the same tree with and without the writer thread', async () => {
    const n = 700;
    await receiveDiffCopy(sender(n).stream, dest, {}, AbortSignal.timeout(20_000));
    const other = path.join(tmp, 'other');
    await mkdir(other);
    await receiveDiffCopy(sender(n).stream, other, { offThreadWrites: false }, AbortSignal.timeout(20_000));
    const a = await readdir(path.join(dest, 'd'));
    expect(await readdir(path.join(other, 'd'))).toEqual(a);
    for (const f of a) {
      const [x, y] = await Promise.all([stat(path.join(dest, 'd', f)), stat(path.join(other, 'd', f))]);
      expect([x.mode, x.size, x.mtimeMs]).toEqual([y.mode, y.size, y.mtimeMs]);
    }
  });

  it('fails the transfer when the writer thread cannot create a file', async () => {
    // Past the writer's start (256 files), a name too long for the filesystem.
    const name = (i: number) => `f${String(i).padStart(5, '0')}${i === 400 ? 'x'.repeat(300) : ''}`;
    const s = sender(600, name);
    const err = await receiveDiffCopy(s.stream, dest, {}, AbortSignal.timeout(20_000)).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/ENAMETOOLONG|name too long/i);
  });
});

describe('throttleProgress', () => {
  it('passes the first report, holds the rest within the interval and flushes the last', () => {
    const seen: number[] = [];
    const t = throttleProgress((b) => seen.push(b), 60_000);
    for (let i = 1; i <= 100; i++) t.opts.onProgress?.(i);
    expect(seen).toEqual([1]);
    t.flush();
    expect(seen).toEqual([1, 100]);
    t.flush();
    expect(seen).toEqual([1, 100]);
    expect(throttleProgress(undefined).opts).toEqual({});
  });
});
