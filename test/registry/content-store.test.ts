import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContentMismatchError, createContentStore } from '../../worker/content/store.js';

const sha = (b: string | Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
async function* chunks(...parts: string[]) {
  for (const p of parts) yield Buffer.from(p);
}
const signal = () => AbortSignal.timeout(10_000);

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'kiln-content-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('content store', () => {
  it('stores a verified blob under blobs/sha256/<hex> and reads it back', async () => {
    const store = await createContentStore(root);
    const d = sha('hello world');
    const info = await store.write(chunks('hello ', 'world'), { digest: d, size: 11 }, signal());
    expect(info).toEqual({ digest: d, size: 11 });
    expect(await store.path(d)).toBe(path.join(root, 'blobs', 'sha256', d.slice(7)));
    expect(await store.info(d)).toEqual({ digest: d, size: 11 });
    let text = '';
    for await (const c of store.read(d, signal())) text += Buffer.from(c).toString();
    expect(text).toBe('hello world');
    expect(await readdir(path.join(root, 'ingest'))).toEqual([]);
    // Without expectations the digest is computed.
    expect(await store.write(chunks('abc'), {}, signal())).toEqual({ digest: sha('abc'), size: 3 });
  });

  it('reads a large blob back in chunks of at most 1 MiB, and an empty one as nothing', async () => {
    const store = await createContentStore(root);
    const data = Buffer.alloc(2.5 * 1024 * 1024 + 7);
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE(i, i);
    const info = await store.write(
      (async function* () {
        yield data;
      })(),
      {},
      signal(),
    );
    const got: Uint8Array[] = [];
    for await (const c of store.read(info.digest, signal())) got.push(c);
    expect(got.map((c) => c.byteLength)).toEqual([1024 * 1024, 1024 * 1024, 0.5 * 1024 * 1024 + 7]);
    expect(Buffer.concat(got).equals(data)).toBe(true);
    const empty = await store.write(chunks(), {}, signal());
    const none: Uint8Array[] = [];
    for await (const c of store.read(empty.digest, signal())) none.push(c);
    expect(none).toEqual([]);
    const ac = new AbortController();
    ac.abort(new Error('stop reading'));
    await expect(
      (async () => {
        for await (const _ of store.read(info.digest, ac.signal)) {
          // nothing
        }
      })(),
    ).rejects.toThrow('stop reading');
  });

  it('reads into released buffers again, never into one still held', async () => {
    const store = await createContentStore(root);
    const data = randomBytes(5 * 1024 * 1024 + 3);
    const d = sha(data);
    await store.write(
      (async function* () {
        yield data;
      })(),
      { digest: d },
      signal(),
    );
    const parts: Buffer[] = [];
    const held = new Set<ArrayBufferLike>();
    const seen = new Set<ArrayBufferLike>();
    let reused = 0;
    let last: { buffer: ArrayBufferLike; release(): void } | undefined;
    for await (const c of store.readLeased(d, signal())) {
      // A buffer still held (the previous chunk, released one step late) is never read into.
      expect(held.has(c.bytes.buffer)).toBe(false);
      if (seen.has(c.bytes.buffer)) reused++;
      seen.add(c.bytes.buffer);
      parts.push(Buffer.from(c.bytes));
      held.add(c.bytes.buffer);
      if (last) {
        held.delete(last.buffer);
        last.release();
        // Twice is harmless.
        last.release();
      }
      last = { buffer: c.bytes.buffer, release: () => c.release() };
    }
    last?.release();
    expect(Buffer.concat(parts).equals(data)).toBe(true);
    expect(reused).toBeGreaterThan(0);
  });

  it('rejects corrupt and truncated streams, naming expected and got, and keeps nothing', async () => {
    const store = await createContentStore(root);
    const d = sha('the real content');
    const corrupt = store.write(chunks('the fake content'), { digest: d, size: 16 }, signal());
    await expect(corrupt).rejects.toBeInstanceOf(ContentMismatchError);
    await expect(store.write(chunks('the fake content'), { digest: d, size: 16 }, signal())).rejects.toThrow(
      `digest: expected ${d}, got ${sha('the fake content')}`,
    );
    await expect(store.write(chunks('the real'), { digest: d, size: 16 }, signal())).rejects.toThrow(
      'size: expected 16 bytes, got 8',
    );
    await expect(
      store.write(chunks('the real content!!'), { digest: d, size: 16 }, signal()),
    ).rejects.toThrow(/size: expected 16 bytes/);
    expect(await store.info(d)).toBeUndefined();
    expect(await readdir(path.join(root, 'blobs', 'sha256'))).toEqual([]);
    expect(await readdir(path.join(root, 'ingest'))).toEqual([]);
    await expect(store.info('sha256:../../etc')).rejects.toThrow(/invalid digest/);
  });

  it('a failing source stream leaves nothing behind', async () => {
    const store = await createContentStore(root);
    async function* broken() {
      yield Buffer.from('part');
      throw new Error('connection reset');
    }
    await expect(store.write(broken(), { digest: sha('partial'), size: 7 }, signal())).rejects.toThrow(
      'connection reset',
    );
    expect(await readdir(path.join(root, 'ingest'))).toEqual([]);
  });

  it('deleteUnreferenced spares kept and leased blobs', async () => {
    const store = await createContentStore(root);
    const a = await store.write(chunks('a'), {}, signal());
    const b = await store.write(chunks('b'), {}, signal());
    const c = await store.write(chunks('c'), {}, signal());
    const lease = store.lease([b.digest]);
    const removed = await store.deleteUnreferenced(new Set([a.digest]), signal());
    expect(removed).toEqual([c]);
    expect(await store.info(b.digest)).toEqual(b);
    await lease[Symbol.asyncDispose]();
    expect(await store.deleteUnreferenced(new Set([a.digest]), signal())).toEqual([b]);
    expect(await store.info(a.digest)).toEqual(a);
  });

  it('removes stale ingest files when opened', async () => {
    await mkdir(path.join(root, 'ingest'), { recursive: true });
    await writeFile(path.join(root, 'ingest', 'left-by-a-crash'), 'x');
    await createContentStore(root);
    expect(await readdir(path.join(root, 'ingest'))).toEqual([]);
    expect(await readFile(path.join(root, 'ingest', 'left-by-a-crash')).catch(() => 'gone')).toBe('gone');
  });
});
