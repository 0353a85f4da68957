import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContentMismatchError, createContentStore } from '../../worker/content/store.js';

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const signal = () => AbortSignal.timeout(10_000);

/** Deterministic bytes, different at every offset. */
function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i + 4 <= n; i += 4) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b.writeUInt32LE(x, i);
  }
  return b;
}

/** `data` cut into chunks of the given sizes (cycled), each with an ArrayBuffer of its own. */
async function* handedOver(data: Buffer, sizes: number[]) {
  let i = 0;
  for (let off = 0; off < data.length; i++) {
    const n = Math.min(sizes[i % sizes.length] as number, data.length - off);
    const own = new Uint8Array(n);
    own.set(data.subarray(off, off + n));
    yield own;
    off += n;
  }
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'kiln-content-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('content store, chunks handed over (ingest thread)', () => {
  it('stores the same bytes and digest as the event-loop path, large and small chunks mixed', async () => {
    const store = await createContentStore(root);
    const data = pattern(20 * 1024 * 1024 + 13, 7);
    const sizes = [1024 * 1024, 10, 300 * 1024, 64 * 1024, 64 * 1024 - 1, 3 * 1024 * 1024];
    const got = await store.write(handedOver(data, sizes), {}, signal(), { handOver: true });
    expect(got).toEqual({ digest: sha(data), size: data.length });
    const file = await store.path(got.digest);
    expect(file).toBeDefined();
    expect((await readFile(file as string)).equals(data)).toBe(true);
    expect(await readdir(path.join(root, 'ingest'))).toEqual([]);
    // Expected digest and size that match are accepted; an empty blob works.
    const again = await createContentStore(path.join(root, 'again'));
    expect(
      await again.write(
        handedOver(data, [2 * 1024 * 1024]),
        { digest: got.digest, size: data.length },
        signal(),
        {
          handOver: true,
        },
      ),
    ).toEqual(got);
    expect(await store.write(handedOver(Buffer.alloc(0), [1]), {}, signal(), { handOver: true })).toEqual({
      digest: sha(Buffer.alloc(0)),
      size: 0,
    });
  });

  it('moves large chunks rather than copying them (the caller gave them up)', async () => {
    const store = await createContentStore(root);
    const big = new Uint8Array(1024 * 1024).fill(5);
    const small = new Uint8Array(100).fill(6);
    const expected = sha(Buffer.concat([big, small]));
    await store.write(
      (async function* () {
        yield big;
        yield small;
      })(),
      {},
      signal(),
      { handOver: true },
    );
    expect(big.byteLength).toBe(0); // detached: moved to the thread
    expect(small.byteLength).toBe(100); // copied
    expect(await store.info(expected)).toEqual({ digest: expected, size: 1024 * 1024 + 100 });
  });

  it('rejects corrupt, short and long streams and keeps nothing', async () => {
    const store = await createContentStore(root);
    const real = pattern(3 * 1024 * 1024, 1);
    const fake = pattern(3 * 1024 * 1024, 2);
    const d = sha(real);
    const opts = { handOver: true } as const;
    await expect(
      store.write(handedOver(fake, [1024 * 1024]), { digest: d, size: real.length }, signal(), opts),
    ).rejects.toBeInstanceOf(ContentMismatchError);
    await expect(
      store.write(
        handedOver(real.subarray(0, 1024 * 1024), [512 * 1024]),
        { digest: d, size: real.length },
        signal(),
        opts,
      ),
    ).rejects.toThrow(`size: expected ${real.length} bytes, got ${1024 * 1024}`);
    await expect(
      store.write(
        handedOver(Buffer.concat([real, Buffer.alloc(1)]), [1024 * 1024]),
        { digest: d, size: real.length },
        signal(),
        opts,
      ),
    ).rejects.toThrow(/size: expected/);
    expect(await store.info(d)).toBeUndefined();
    expect(await readdir(path.join(root, 'blobs', 'sha256'))).toEqual([]);
    expect(await readdir(path.join(root, 'ingest'))).toEqual([]);
  });

  it('writes a small blob without the thread, and checks it the same way', async () => {
    const store = await createContentStore(root);
    const data = pattern(200 * 1024, 3);
    // Several chunks under the inline limit: read ahead, then written on the event loop.
    const got = await store.write(handedOver(data, [1000, 64 * 1024]), {}, signal(), { handOver: true });
    expect(got).toEqual({ digest: sha(data), size: data.length });
    expect((await readFile((await store.path(got.digest)) as string)).equals(data)).toBe(true);
    await expect(
      store.write(
        handedOver(data, [4096]),
        { digest: sha(Buffer.from('other')), size: data.length },
        signal(),
        {
          handOver: true,
        },
      ),
    ).rejects.toThrow(/content verification failed/);
    expect(await readdir(path.join(root, 'ingest'))).toEqual([]);
  });

  it('closes the source when the thread fails after the blob grew past the inline limit', async () => {
    const store = await createContentStore(root);
    let closed = false;
    async function* source() {
      try {
        for (let i = 0; ; i++) yield new Uint8Array(128 * 1024).fill(i & 0xff);
      } finally {
        closed = true;
      }
    }
    await expect(store.write(source(), { size: 1024 * 1024 }, signal(), { handOver: true })).rejects.toThrow(
      /content verification failed/,
    );
    expect(closed).toBe(true);
  });

  it('refuses a chunk that is a second view of memory already handed over, storing nothing', async () => {
    const store = await createContentStore(root);
    async function* twoViews() {
      const buf = new Uint8Array(512 * 1024).fill(7);
      const [first, second] = [buf.subarray(0, 256 * 1024), buf.subarray(256 * 1024)];
      yield first;
      // Made before the first was moved, with it: it would read as empty and its bytes go missing.
      yield second;
    }
    await expect(store.write(twoViews(), {}, signal(), { handOver: true })).rejects.toThrow(
      /shares memory with one already handed over/,
    );
    expect(await readdir(path.join(root, 'blobs', 'sha256'))).toEqual([]);
  });

  it('a failing source or an abort stops the thread and leaves nothing behind', async () => {
    const store = await createContentStore(root);
    async function* broken() {
      yield new Uint8Array(2 * 1024 * 1024);
      throw new Error('connection reset');
    }
    await expect(store.write(broken(), {}, signal(), { handOver: true })).rejects.toThrow('connection reset');
    const ac = new AbortController();
    async function* endless() {
      for (let i = 0; ; i++) {
        if (i === 3) ac.abort(new Error('cancelled'));
        yield new Uint8Array(1024 * 1024);
      }
    }
    await expect(store.write(endless(), {}, ac.signal, { handOver: true })).rejects.toThrow('cancelled');
    expect(await readdir(path.join(root, 'ingest'))).toEqual([]);
    expect(await readdir(path.join(root, 'blobs', 'sha256'))).toEqual([]);
  });
});
