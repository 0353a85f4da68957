import { createHash, randomBytes } from 'node:crypto';
import { readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { LeasedChunk } from '../../worker/leased-chunk.js';
import { produceTar, produceTarLeased } from '../../worker/fs/tar-producer.js';
import type { TarJob } from '../../worker/fs/tar-thread.js';
import { tarDirectory, tarDirectoryLeased } from '../../worker/fs/tar-writer.js';
import { signal, tempDir } from './fs-helpers.js';

/*
 * produceTarLeased: the same archive as produceTar, written into a ring of shared slots that the
 * consumer hands back. A slot must never be written while its lease is held.
 */

const ChunkBytes = 64 * 1024;
const Slots = 4;

async function all(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of source) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/** A tree bigger than the ring: small files around a file of 1.5 MiB (+ 3 bytes) of random bytes. */
async function bigTree(root: string): Promise<TarJob> {
  await writeFile(path.join(root, 'a'), 'first');
  await writeFile(path.join(root, 'big'), randomBytes(1.5 * 1024 * 1024 + 3));
  for (let i = 0; i < 20; i++) await writeFile(path.join(root, `small-${i}`), randomBytes(i * 1000));
  return { kind: 'dir', root };
}

/** A lease with a copy of its bytes as they arrived, to see that nothing wrote over them while held. */
interface Held {
  readonly chunk: LeasedChunk;
  readonly copy: Buffer;
}

function hold(chunk: LeasedChunk): Held {
  return { chunk, copy: Buffer.from(chunk.bytes) };
}

function release(h: Held): void {
  expect(Buffer.from(h.chunk.bytes).equals(h.copy)).toBe(true);
  h.chunk.release();
}

function slotOf(chunk: LeasedChunk): number {
  return chunk.bytes.byteOffset / ChunkBytes;
}

/** The next chunk, or 'waiting' if none comes within `ms`. */
async function nextWithin(
  it: AsyncGenerator<LeasedChunk>,
  ms: number,
): Promise<{
  pending: Promise<IteratorResult<LeasedChunk>>;
  early: IteratorResult<LeasedChunk> | 'waiting';
}> {
  const pending = it.next();
  const early = await Promise.race([pending, sleep(ms).then(() => 'waiting' as const)]);
  return { pending, early };
}

async function fdCount(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

/** The ring's options, with credit enough that only the slots bound the thread. */
const ringOpts = { chunkBytes: ChunkBytes, slots: Slots, credit: 64 };

describe('produceTarLeased', () => {
  it('writes the bytes and digest of produceTar while the consumer releases late and out of order', async () => {
    await using t = await tempDir();
    const job = await bigTree(t.path);
    const reference = await all(tarDirectory(t.path, signal));
    let plainDigest = '';
    await all(produceTar(job, signal, { onDigest: (d) => (plainDigest = d) }));
    let digest = '';
    const parts: Buffer[] = [];
    const held: Held[] = [];
    const buffers = new Set<ArrayBufferLike>();
    const slots: number[] = [];
    let seed = 7;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 16) % n;
    };
    const orders = new Set<string>();
    let mostHeld = 0;
    for await (const chunk of produceTarLeased(job, signal, {
      chunkBytes: ChunkBytes,
      slots: Slots,
      onDigest: (d) => (digest = d),
    })) {
      const h = hold(chunk);
      parts.push(h.copy);
      buffers.add(chunk.bytes.buffer);
      slots.push(slotOf(chunk));
      held.push(h);
      mostHeld = Math.max(mostHeld, held.length);
      // Keep as many as can be held while the thread goes on (slots - 1: it takes the slots in
      // order), then give them back in a shuffled order.
      if (held.length < Slots - 1) continue;
      const order: number[] = [];
      const batch = [...held.keys()];
      while (batch.length > 0) order.push(batch.splice(random(batch.length), 1)[0]!);
      for (const i of order) release(held[i]!);
      held.length = 0;
      orders.add(order.join());
    }
    for (const h of held) release(h);
    expect(mostHeld).toBe(Slots - 1);
    expect([...orders].some((o) => o !== '0,1,2')).toBe(true);
    expect(parts.length).toBeGreaterThan(4 * Slots);
    expect(Buffer.concat(parts).equals(reference)).toBe(true);
    expect(digest).toBe(`sha256:${createHash('sha256').update(reference).digest('hex')}`);
    expect(digest).toBe(plainDigest);
    // One shared buffer for the whole archive, its slots taken in ring order.
    expect(buffers.size).toBe(1);
    expect([...buffers][0]).toBeInstanceOf(SharedArrayBuffer);
    expect(slots).toEqual(slots.map((_, i) => i % Slots));
  });

  it('tarDirectoryLeased writes what tarDirectory writes', async () => {
    await using t = await tempDir();
    await bigTree(t.path);
    const parts: Buffer[] = [];
    for await (const chunk of tarDirectoryLeased(t.path, signal)) {
      parts.push(Buffer.from(chunk.bytes));
      chunk.release();
    }
    expect(Buffer.concat(parts).equals(await all(tarDirectory(t.path, signal)))).toBe(true);
  });

  it('waits while every slot is held, and goes on once the next one is released', async () => {
    await using t = await tempDir();
    const job = await bigTree(t.path);
    const it = produceTarLeased(job, signal, ringOpts);
    const held: Held[] = [];
    for (let i = 0; i < Slots; i++) {
      const r = await it.next();
      if (r.done) throw new Error('archive ended early');
      held.push(hold(r.value));
    }
    const { pending, early } = await nextWithin(it, 100);
    expect(early).toBe('waiting');
    release(held[0]!);
    const r = await pending;
    if (r.done) throw new Error('archive ended early');
    expect(slotOf(r.value)).toBe(0);
    const parts = [...held.map((h) => h.copy), Buffer.from(r.value.bytes)];
    for (const h of held.slice(1)) release(h);
    r.value.release();
    for await (const chunk of it) {
      parts.push(Buffer.from(chunk.bytes));
      chunk.release();
    }
    expect(Buffer.concat(parts).equals(await all(tarDirectory(t.path, signal)))).toBe(true);
  });

  it('stops promptly on an abort while the thread waits for a slot, and closes its files', async () => {
    await using t = await tempDir();
    const job = await bigTree(t.path);
    const before = await fdCount();
    const ac = new AbortController();
    const it = produceTarLeased(job, ac.signal, ringOpts);
    for (let i = 0; i < Slots; i++) expect((await it.next()).done).toBe(false);
    const { pending, early } = await nextWithin(it, 100);
    expect(early).toBe('waiting');
    const start = performance.now();
    ac.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    expect(performance.now() - start).toBeLessThan(1000);
    expect(await fdCount()).toBe(before);
  });

  it('stops promptly when the consumer returns early holding its leases', async () => {
    await using t = await tempDir();
    const job = await bigTree(t.path);
    const before = await fdCount();
    const held: LeasedChunk[] = [];
    let start = 0;
    for await (const chunk of produceTarLeased(job, signal, ringOpts)) {
      held.push(chunk);
      if (held.length < Slots) continue;
      // Every slot is held: the thread waits for slot 0 to write the next chunk into.
      await sleep(100);
      start = performance.now();
      break;
    }
    expect(performance.now() - start).toBeLessThan(1000);
    expect(held.length).toBe(Slots);
    expect(await fdCount()).toBe(before);
  });

  it('ignores a second release of a lease whose slot was taken again', async () => {
    await using t = await tempDir();
    const job = await bigTree(t.path);
    const it = produceTarLeased(job, signal, ringOpts);
    const parts: Buffer[] = [];
    const take = async (): Promise<Held> => {
      const r = await it.next();
      if (r.done) throw new Error('archive ended early');
      const h = hold(r.value);
      parts.push(h.copy);
      return h;
    };
    const first = await take();
    release(first);
    for (let i = 1; i < Slots; i++) release(await take());
    const lap = await take();
    expect(lap.chunk.bytes.buffer).toBe(first.chunk.bytes.buffer);
    expect(slotOf(lap.chunk)).toBe(slotOf(first.chunk));
    first.chunk.release();
    for (let i = 1; i < Slots; i++) release(await take());
    // Slot 0 is still `lap`'s: the thread must wait for it rather than write over it.
    const { pending, early } = await nextWithin(it, 100);
    expect(early).toBe('waiting');
    release(lap);
    const r = await pending;
    if (r.done) throw new Error('archive ended early');
    parts.push(Buffer.from(r.value.bytes));
    r.value.release();
    for await (const chunk of it) {
      const h = hold(chunk);
      parts.push(h.copy);
      release(h);
    }
    expect(Buffer.concat(parts).equals(await all(tarDirectory(t.path, signal)))).toBe(true);
  });

  it('sends a header larger than a slot in a buffer of its own', async () => {
    await using t = await tempDir();
    await writeFile(path.join(t.path, 'a'), randomBytes(10_000));
    await symlink('x'.repeat(2000), path.join(t.path, 'l'));
    await writeFile(path.join(t.path, 'z'), randomBytes(10_000));
    const parts: Buffer[] = [];
    let own = 0;
    for await (const chunk of produceTarLeased({ kind: 'dir', root: t.path }, signal, {
      chunkBytes: 4096,
      slots: 2,
    })) {
      parts.push(Buffer.from(chunk.bytes));
      if (!(chunk.bytes.buffer instanceof SharedArrayBuffer)) {
        own++;
        expect(chunk.bytes.byteLength).toBeGreaterThan(4096);
      } else expect(chunk.bytes.byteLength).toBeLessThanOrEqual(4096);
      chunk.release();
      chunk.release();
    }
    expect(own).toBe(1);
    expect(Buffer.concat(parts).equals(await all(tarDirectory(t.path, signal)))).toBe(true);
  });

  it('rejects a ring without slots', () => {
    expect(() => produceTarLeased({ kind: 'dir', root: '/' }, signal, { slots: 0 })).toThrow(RangeError);
  });
});
