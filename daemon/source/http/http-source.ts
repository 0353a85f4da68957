import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, lchown, lutimes, open } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, KilnError } from '../../../proto/errors.js';
import type { CacheMap, ImmutableRef, OpContext, RefManager, ResolvedOp } from '../../solver/types.js';
import { type HttpAttrs, isPlainName, parseHttpAttrs } from './http-attrs.js';

/**
 * `http://` and `https://` sources (BuildKit source/http): one file downloaded into a snapshot of
 * its own. With `http.checksum` the cache key is known before any network access; without it the
 * file is downloaded while computing the key, which is then the digest of the content (so an
 * unchanged file served again keeps every later step cached). ETags of earlier downloads are sent
 * as If-None-Match, and a 304 reuses the earlier snapshot.
 */

export class HttpSourceError extends KilnError {
  readonly url: string;
  constructor(code: KilnError['code'], url: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'HttpSourceError';
    this.url = url;
  }
}

export interface HttpSourceDeps {
  readonly refs: RefManager;
  /** Injected for tests; global fetch by default (follows redirects). */
  readonly fetch?: typeof fetch;
}

export interface HttpSource {
  resolve(identifier: string, attrs: Readonly<Record<string, string>>): ResolvedOp;
  /** Registry entries for both schemes, sharing one ETag memory. */
  schemes(): [string, HttpSource][];
}

/** A download remembered by ETag: the snapshot it made and the digest of its content. */
interface Download {
  readonly refId: string;
  readonly digest: string;
  readonly lastModified: string | undefined;
  readonly filename: string;
}

const sha256 = (data: string | Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** The file name: the attr, else Content-Disposition, else the URL's last path segment, else `download`. */
export function httpFileName(a: HttpAttrs, headers: Headers | undefined): string {
  if (a.filename !== undefined) return a.filename;
  const cd = headers?.get('content-disposition');
  if (cd) {
    const m = /filename\*?=(?:"([^"]*)"|([^;\s]*))/i.exec(cd);
    const raw = m?.[1] ?? m?.[2];
    if (raw && !raw.endsWith('/')) {
      const base = path.posix.basename(raw.replaceAll('\\', '/'));
      if (isPlainName(base)) return base;
    }
  }
  const base = path.posix.basename(decodeURIComponent(a.url.pathname));
  return base !== '' && base !== '.' && base !== '/' && isPlainName(base) ? base : 'download';
}

/** BuildKit's formatCacheKey: Go's json.Marshal of the struct, so keys match across daemons. */
export function httpCacheKey(a: HttpAttrs, filename: string, digest: string, lastModified?: string): string {
  let json = `{"Filename":${JSON.stringify(filename)},"Perm":${a.perm},"UID":${a.uid},"GID":${a.gid},"Checksum":${JSON.stringify(digest)}`;
  if (lastModified) json += `,"LastModTime":${JSON.stringify(lastModified)}`;
  return sha256(`${json}}`);
}

/** What the ETag index is keyed by: the URL and everything that shapes the file (not the content). */
function urlKey(a: HttpAttrs): string {
  return JSON.stringify([a.url.href, a.filename ?? '', a.perm, a.uid, a.gid]);
}

const etagValue = (v: string) => v.replace(/^W\//, '');

function redact(url: URL): string {
  if (!url.username && !url.password) return url.href;
  const u = new URL(url.href);
  u.username = '';
  u.password = '';
  return u.href;
}

export function createHttpSource(deps: HttpSourceDeps): HttpSource {
  const doFetch = deps.fetch ?? fetch;
  // url key → ETag → download; lives as long as the daemon (a restart downloads once more).
  const etags = new Map<string, Map<string, Download>>();

  async function request(
    a: HttpAttrs,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<Response> {
    const shown = redact(a.url);
    let res: Response;
    try {
      res = await doFetch(a.url, {
        headers: { 'user-agent': 'kiln', ...headers },
        redirect: 'follow',
        signal,
      });
    } catch (err) {
      signal.throwIfAborted();
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.message ?? cause?.code ?? (err as Error).message;
      throw new HttpSourceError(ErrorCodes.Unavailable, shown, `failed to download ${shown}: ${why}`, {
        cause: err,
      });
    }
    if (res.status === 304) return res;
    if (res.status < 200 || res.status >= 300) {
      await res.body?.cancel().catch(() => undefined);
      const code = res.status === 404 || res.status === 410 ? ErrorCodes.NotFound : ErrorCodes.Unavailable;
      throw new HttpSourceError(
        code,
        shown,
        `failed to download ${shown}: invalid response status ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`,
      );
    }
    return res;
  }

  /** Streams the body into a new snapshot; returns the committed ref and the content digest. */
  async function save(
    a: HttpAttrs,
    res: Response,
    ctx: OpContext,
  ): Promise<{ ref: ImmutableRef; digest: string; filename: string; lastModified: string | undefined }> {
    const shown = redact(a.url);
    const filename = httpFileName(a, res.headers);
    const lastModified = res.headers.get('last-modified') ?? undefined;
    const total = Number(res.headers.get('content-length') ?? '0') || 0;
    const statusId = `downloading ${shown}`;
    const mutable = await deps.refs.newMutable(
      undefined,
      { recordType: 'regular', description: `http url ${shown}` },
      ctx.signal,
    );
    let committed: ImmutableRef | undefined;
    try {
      const file = path.join(mutable.dir, filename);
      const hash = createHash('sha256');
      let bytes = 0;
      const fh = await open(
        file,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
      try {
        if (res.body) {
          let last = 0;
          for await (const chunk of res.body) {
            ctx.signal.throwIfAborted();
            hash.update(chunk);
            let off = 0;
            while (off < chunk.byteLength)
              off += (await fh.write(chunk, off, chunk.byteLength - off)).bytesWritten;
            bytes += chunk.byteLength;
            const now = Date.now();
            if (now - last > 100) {
              last = now;
              ctx.progress.status(statusId, { current: bytes, total });
            }
          }
        }
      } catch (err) {
        ctx.signal.throwIfAborted();
        throw new HttpSourceError(
          ErrorCodes.Unavailable,
          shown,
          `failed to download ${shown}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      } finally {
        await fh.close();
      }
      ctx.progress.status(statusId, { current: bytes, total: total || bytes, completed: true });
      if (a.uid !== 0 || a.gid !== 0) await lchown(file, a.uid, a.gid);
      await chmod(file, a.perm === 0 ? 0o600 : a.perm & 0o7777);
      const parsed = lastModified === undefined ? NaN : Date.parse(lastModified);
      const mtime = Number.isNaN(parsed) ? new Date(0) : new Date(parsed);
      await lutimes(file, mtime, mtime);
      committed = await mutable.commit(ctx.signal);
      return { ref: committed, digest: `sha256:${hash.digest('hex')}`, filename, lastModified };
    } finally {
      if (committed === undefined) await mutable.release();
    }
  }

  async function refExists(id: string): Promise<boolean> {
    const ref = await deps.refs.get(id);
    if (!ref) return false;
    await ref.release();
    return true;
  }

  function remember(a: HttpAttrs, res: Response, d: Download): void {
    const etag = res.headers.get('etag');
    if (!etag) return;
    const key = urlKey(a);
    const byTag = etags.get(key) ?? new Map<string, Download>();
    byTag.set(etagValue(etag), d);
    etags.set(key, byTag);
  }

  const source: HttpSource = {
    schemes: () => [
      ['http', source],
      ['https', source],
    ],
    resolve(identifier, attrs) {
      const a = parseHttpAttrs(identifier, attrs);
      // Set by cacheMap when it had to download (or matched an ETag); exec then reuses it.
      let known: Download | undefined;

      function checkDigest(digest: string): void {
        const expected = a.checksum ?? known?.digest;
        if (expected !== undefined && digest !== expected) {
          throw new HttpSourceError(
            ErrorCodes.FailedPrecondition,
            redact(a.url),
            `checksum mismatch for ${redact(a.url)}: expected ${expected}, got ${digest}`,
          );
        }
      }

      return {
        async cacheMap(ctx: OpContext): Promise<CacheMap> {
          if (a.checksum !== undefined) {
            return { digest: httpCacheKey(a, httpFileName(a, undefined), a.checksum), deps: [] };
          }
          const byTag = etags.get(urlKey(a));
          const headers: Record<string, string> = {};
          if (byTag && byTag.size > 0) headers['if-none-match'] = [...byTag.keys()].join(', ');
          const res = await request(a, headers, ctx.signal);
          if (res.status === 304) {
            await res.body?.cancel().catch(() => undefined);
            const tag = res.headers.get('etag');
            const hit =
              tag !== null
                ? byTag?.get(etagValue(tag))
                : byTag?.size === 1
                  ? [...byTag.values()][0]
                  : undefined;
            if (hit && (await refExists(hit.refId))) {
              known = hit;
              return { digest: httpCacheKey(a, hit.filename, hit.digest, hit.lastModified), deps: [] };
            }
            // The snapshot was pruned (or the tag is unknown): download without conditions.
            return keyFromDownload(await request(a, {}, ctx.signal), ctx);
          }
          return keyFromDownload(res, ctx);
        },
        async exec(ctx: OpContext): Promise<ImmutableRef[]> {
          if (known) {
            const ref = await deps.refs.get(known.refId);
            if (ref) return [ref];
          }
          const res = await request(a, {}, ctx.signal);
          const got = await save(a, res, ctx);
          try {
            checkDigest(got.digest);
          } catch (err) {
            await got.ref.release();
            throw err;
          }
          remember(a, res, {
            refId: got.ref.id,
            digest: got.digest,
            lastModified: got.lastModified,
            filename: got.filename,
          });
          return [got.ref];
        },
      };

      async function keyFromDownload(res: Response, ctx: OpContext): Promise<CacheMap> {
        const got = await save(a, res, ctx);
        const d: Download = {
          refId: got.ref.id,
          digest: got.digest,
          lastModified: got.lastModified,
          filename: got.filename,
        };
        // The record outlives the handle; exec takes a new one (or downloads again if pruned).
        await got.ref.release();
        known = d;
        remember(a, res, d);
        return { digest: httpCacheKey(a, d.filename, d.digest, d.lastModified), deps: [] };
      }
    },
  };
  return source;
}
