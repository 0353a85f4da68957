import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type ParallelGzipOptions, parallelGzip } from '../../daemon/exporter/parallel-gzip.js';

async function gz(
  data: Buffer,
  chunk: number,
  opts: ParallelGzipOptions,
  signal = AbortSignal.timeout(30_000),
): Promise<Buffer> {
  const src = async function* () {
    for (let off = 0; off < data.length; off += chunk) yield data.subarray(off, off + chunk);
  };
  const out: Uint8Array[] = [];
  for await (const c of parallelGzip(src(), opts, signal)) out.push(c);
  return Buffer.concat(out);
}

/** Text-like bytes: compressible, with matches that cross block boundaries. */
function texty(n: number): Buffer {
  const words = ['layer', 'kiln', 'tar', 'blob', 'digest', 'sha256', 'export', '\n', ' '];
  const parts: string[] = [];
  let len = 0;
  let x = 7;
  while (len < n) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const w = words[x % words.length] as string;
    parts.push(w);
    len += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

describe('parallelGzip', () => {
  const block = 64 * 1024;
  it.each([0, 1, block - 1, block, block + 1, 5 * block + 17])(
    'round-trips %i bytes through gunzip (crc and size checked)',
    async (n) => {
      const data = Buffer.concat([texty(n >> 1), randomBytes(n - (n >> 1))]);
      const out = await gz(data, 10_000, { level: 6, blockSize: block, concurrency: 3 });
      expect(gunzipSync(out).equals(data)).toBe(true);
    },
  );

  it('is read by gzip(1) and compresses about as well as one zlib stream', async () => {
    const data = texty(3 * 1024 * 1024);
    const out = await gz(data, 65_536, { level: 6, blockSize: 256 * 1024 });
    expect(execFileSync('gzip', ['-dc'], { input: out, maxBuffer: 64 * 1024 * 1024 }).equals(data)).toBe(
      true,
    );
    const single = gzipSync(data, { level: 6 }).length;
    expect(out.length).toBeLessThan(single * 1.02);
  });

  it('gives the same bytes whatever the input chunking and concurrency', async () => {
    const data = Buffer.concat([texty(300_000), randomBytes(200_000)]);
    const a = await gz(data, 4096, { level: 6, blockSize: block, concurrency: 1 });
    const b = await gz(data, 100_003, { level: 6, blockSize: block, concurrency: 4 });
    expect(b.equals(a)).toBe(true);
  });

  it('yields pieces that share no memory with each other or the input (they may be handed over)', async () => {
    // Block-sized input chunks are cut without a copy; zlib's output pieces are passed on unjoined.
    const mib = 1024 * 1024;
    const data = Buffer.concat([randomBytes(3 * mib), texty(2 * mib + 5), randomBytes(mib + 3)]);
    const src = async function* () {
      for (let off = 0; off < data.length; off += mib) yield data.subarray(off, off + mib);
    };
    const out: Uint8Array[] = [];
    for await (const c of parallelGzip(src(), { level: 6 }, AbortSignal.timeout(30_000))) out.push(c);
    expect(gunzipSync(Buffer.concat(out)).equals(data)).toBe(true);
    const large = out.filter((c) => c.byteLength >= 4096);
    expect(large.length).toBeGreaterThan(6);
    const buffers = new Set(large.map((c) => c.buffer));
    expect(buffers.size).toBe(large.length);
    expect(buffers.has(data.buffer)).toBe(false);
  });

  it('stores incompressible blocks (a copy, not a search) and still compresses the others', async () => {
    const block = 256 * 1024;
    const noise = randomBytes(4 * block);
    const text = texty(4 * block);
    const data = Buffer.concat([noise, text]);
    const out = await gz(data, 65_536, { level: 6, blockSize: block });
    expect(gunzipSync(out).equals(data)).toBe(true);
    expect(execFileSync('gzip', ['-dc'], { input: out, maxBuffer: 64 * 1024 * 1024 }).equals(data)).toBe(
      true,
    );
    // The random blocks come out exactly as deflate level 0 (stored) makes them, after the header.
    const stored = Buffer.concat(
      [0, 1, 2, 3].map((i) =>
        deflateRawSync(noise.subarray(i * block, (i + 1) * block), {
          level: 0,
          finishFlush: constants.Z_SYNC_FLUSH,
          // Stored-block lengths follow the output buffer size: the one parallelGzip uses.
          chunkSize: 256 * 1024,
        }),
      ),
    );
    expect(out.subarray(10, 10 + stored.length).equals(stored)).toBe(true);
    // Without the test, level 6 searched them (and zlib chose its own block layout).
    const searched = await gz(data, 65_536, { level: 6, blockSize: block, skipIncompressible: false });
    expect(gunzipSync(searched).equals(data)).toBe(true);
    expect(searched.subarray(10, 10 + stored.length).equals(stored)).toBe(false);
    // Text blocks are compressed as before.
    const textOnly = gzipSync(text, { level: 6 }).length;
    expect(out.length).toBeLessThan(noise.length * 1.001 + textOnly * 1.05);
  });

  it('compresses a block that is mostly text even when some of it is noise', async () => {
    const block = 256 * 1024;
    const data = Buffer.concat([randomBytes(block / 8), texty(block - block / 8)]);
    const out = await gz(data, 65_536, { level: 6, blockSize: block });
    expect(gunzipSync(out).equals(data)).toBe(true);
    expect(out.length).toBeLessThan(block / 2);
  });

  it('stops with the abort reason', async () => {
    const ac = new AbortController();
    const src = async function* () {
      for (let i = 0; ; i++) {
        if (i === 3) ac.abort(new Error('stop'));
        yield randomBytes(block);
      }
    };
    const run = async () => {
      for await (const _ of parallelGzip(src(), { level: 1, blockSize: block }, ac.signal)) {
        // consume
      }
    };
    await expect(run()).rejects.toThrow('stop');
  });
});
