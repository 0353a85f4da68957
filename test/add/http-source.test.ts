import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openCacheManager } from '../../daemon/cache/manager.js';
import type { CacheManager } from '../../daemon/cache/types.js';
import type { ImmutableRef, OpContext } from '../../daemon/solver/types.js';
import { createHttpSource } from '../../daemon/source/http/http-source.js';
import { createNativeSnapshotter } from '../../worker/snapshot/native.js';

const body = 'hello from the test server\n';
const bodyDigest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
const lastModified = 'Wed, 21 Oct 2015 07:28:00 GMT';

let server: http.Server;
let base: string;
const requests: { url: string; ifNoneMatch: string | undefined }[] = [];
let etag = '"v1"';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', ifNoneMatch: req.headers['if-none-match'] });
    switch (req.url) {
      case '/files/hello.txt':
        if (req.headers['if-none-match'] === etag) {
          res.writeHead(304, { etag });
          res.end();
          return;
        }
        res.writeHead(200, { 'content-length': String(body.length), 'last-modified': lastModified, etag });
        res.end(body);
        return;
      case '/redirect':
        res.writeHead(302, { location: '/files/hello.txt' });
        res.end();
        return;
      case '/disposition':
        res.writeHead(200, { 'content-disposition': 'attachment; filename="named.bin"' });
        res.end('named');
        return;
      case '/':
        res.writeHead(200);
        res.end('root');
        return;
      default:
        res.writeHead(404);
        res.end('nope');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

let root: string;
let cache: CacheManager;
const held: ImmutableRef[] = [];
const statuses: { id: string; current?: number; completed?: boolean }[] = [];

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'kiln-httpsrc-'));
  cache = await openCacheManager({
    root,
    snapshotter: createNativeSnapshotter(path.join(root, 'snapshots')),
    signal: new AbortController().signal,
  });
  requests.length = 0;
  statuses.length = 0;
  etag = '"v1"';
});
afterEach(async () => {
  for (const r of held.splice(0)) await r.release();
  await cache.close();
  await rm(root, { recursive: true, force: true });
});

function ctx(): OpContext {
  return {
    signal: new AbortController().signal,
    sessionIds: [],
    progress: { status: (id, u) => statuses.push({ id, ...u }), log: () => undefined },
  };
}

async function run(
  source: ReturnType<typeof createHttpSource>,
  url: string,
  attrs: Record<string, string> = {},
) {
  const op = source.resolve(url, attrs);
  const key = (await op.cacheMap(ctx())).digest;
  const [ref] = await op.exec(ctx(), []);
  if (!ref) throw new Error('no ref');
  held.push(ref);
  return { key, dir: ref.snapshot.dir };
}

describe('http source', () => {
  it('downloads one file named after the URL, 0600, mtime from Last-Modified, with progress', async () => {
    const src = createHttpSource({ refs: cache });
    const { key, dir } = await run(src, `${base}/files/hello.txt`);
    expect(await readdir(dir)).toEqual(['hello.txt']);
    expect(await readFile(path.join(dir, 'hello.txt'), 'utf8')).toBe(body);
    const st = await stat(path.join(dir, 'hello.txt'));
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.mtime.toISOString()).toBe(new Date(lastModified).toISOString());
    expect(key).toMatch(/^sha256:[0-9a-f]{64}$/);
    const done = statuses.find((s) => s.completed);
    expect(done).toMatchObject({ id: `downloading ${base}/files/hello.txt`, current: body.length });
    // The key comes from the content: downloaded once, in cacheMap; exec reused it.
    expect(requests).toHaveLength(1);
  });

  it('keys by content: another URL with the same content and name gets the same key', async () => {
    const src = createHttpSource({ refs: cache });
    const a = await run(src, `${base}/files/hello.txt`);
    const b = await run(src, `${base}/redirect`, { 'http.filename': 'hello.txt' });
    expect(b.key).toBe(a.key);
    expect(await readFile(path.join(b.dir, 'hello.txt'), 'utf8')).toBe(body);
  });

  it('sends the ETag of an earlier download and reuses its snapshot on 304', async () => {
    const src = createHttpSource({ refs: cache });
    const first = await run(src, `${base}/files/hello.txt`);
    const second = await run(src, `${base}/files/hello.txt`);
    expect(second.key).toBe(first.key);
    expect(second.dir).toBe(first.dir);
    expect(requests.map((r) => r.ifNoneMatch)).toEqual([undefined, '"v1"']);
    // A changed ETag downloads again.
    etag = '"v2"';
    const third = await run(src, `${base}/files/hello.txt`);
    expect(third.dir).not.toBe(first.dir);
  });

  it('with a checksum the key needs no network and a match passes', async () => {
    const src = createHttpSource({ refs: cache });
    const op = src.resolve(`${base}/files/hello.txt`, { 'http.checksum': bodyDigest });
    const key = (await op.cacheMap(ctx())).digest;
    expect(requests).toHaveLength(0);
    const [ref] = await op.exec(ctx(), []);
    held.push(ref as ImmutableRef);
    expect(await readFile(path.join((ref as ImmutableRef).snapshot.dir, 'hello.txt'), 'utf8')).toBe(body);
    // Same checksum, same key, wherever the file comes from.
    expect(
      (
        await src
          .resolve(`${base}/redirect`, { 'http.checksum': bodyDigest, 'http.filename': 'hello.txt' })
          .cacheMap(ctx())
      ).digest,
    ).toBe(key);
  });

  it('a checksum mismatch names expected and actual digests', async () => {
    const src = createHttpSource({ refs: cache });
    const wrong = `sha256:${'0'.repeat(64)}`;
    const op = src.resolve(`${base}/files/hello.txt`, { 'http.checksum': wrong });
    await op.cacheMap(ctx());
    await expect(op.exec(ctx(), [])).rejects.toThrow(
      `checksum mismatch for ${base}/files/hello.txt: expected ${wrong}, got ${bodyDigest}`,
    );
  });

  it('applies http.filename, http.perm, http.uid and http.gid', async () => {
    const src = createHttpSource({ refs: cache });
    const { dir } = await run(src, `${base}/files/hello.txt`, {
      'http.filename': 'renamed',
      'http.perm': '0755',
      'http.uid': '1000',
      'http.gid': '2000',
    });
    const st = await stat(path.join(dir, 'renamed'));
    expect([st.mode & 0o777, st.uid, st.gid]).toEqual([0o755, 1000, 2000]);
  });

  it('names the file from Content-Disposition, or download when the URL has no name', async () => {
    const src = createHttpSource({ refs: cache });
    expect(await readdir((await run(src, `${base}/disposition`)).dir)).toEqual(['named.bin']);
    expect(await readdir((await run(src, `${base}/`)).dir)).toEqual(['download']);
  });

  it('404 and connection refused are clear errors', async () => {
    const src = createHttpSource({ refs: cache });
    await expect(src.resolve(`${base}/missing`, {}).cacheMap(ctx())).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `failed to download ${base}/missing: invalid response status 404 Not Found`,
    });
    // A port nothing listens on: bind one, then close it.
    const tmp = http.createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    const port = (tmp.address() as AddressInfo).port;
    await new Promise<void>((r) => tmp.close(() => r()));
    await expect(src.resolve(`http://127.0.0.1:${port}/x`, {}).cacheMap(ctx())).rejects.toThrow(
      new RegExp(`failed to download http://127.0.0.1:${port}/x: .*ECONNREFUSED`),
    );
  });

  it('refuses bad attrs', () => {
    const src = createHttpSource({ refs: cache });
    expect(() => src.resolve(`${base}/x`, { 'http.checksum': 'md5:abc' })).toThrow(/invalid http.checksum/);
    expect(() => src.resolve(`${base}/x`, { 'http.filename': '../x' })).toThrow(/invalid http.filename/);
    expect(() => src.resolve(`${base}/x`, { 'http.perm': 'rwx' })).toThrow(/invalid http.perm/);
  });
});
