import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * One HTTP exchange on node:http/https (not fetch: `insecure` registries need
 * rejectUnauthorized: false, which global fetch cannot take without undici's Agent).
 */
export interface HttpResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly url: URL;
  readonly body: AsyncIterable<Uint8Array>;
  /** Reads the rest of the body (bounded, so a hostile server cannot exhaust memory). */
  bytes(limit?: number): Promise<Uint8Array>;
  /** Drops the body without reading it. */
  discard(): void;
}

export interface HttpRequest {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH';
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | AsyncIterable<Uint8Array>;
  readonly insecure?: boolean;
}

export class BodyTooLargeError extends Error {
  constructor(url: URL, limit: number) {
    super(`response from ${url.origin}${url.pathname} is larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

export async function httpRequest(req: HttpRequest, signal: AbortSignal): Promise<HttpResponse> {
  signal.throwIfAborted();
  const isHttps = req.url.protocol === 'https:';
  const mod = isHttps ? https : http;
  const headers: Record<string, string> = { 'user-agent': 'kiln', ...(req.headers ?? {}) };
  if (req.body instanceof Uint8Array) headers['content-length'] = String(req.body.byteLength);
  return new Promise<HttpResponse>((resolve, reject) => {
    const r = mod.request(
      req.url,
      {
        method: req.method,
        headers,
        signal,
        ...(isHttps && req.insecure ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        const response: HttpResponse = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          url: req.url,
          body: res,
          async bytes(limit = 64 << 20) {
            const chunks: Buffer[] = [];
            let n = 0;
            for await (const c of res) {
              const b = c as Buffer;
              n += b.byteLength;
              if (n > limit) {
                res.destroy();
                throw new BodyTooLargeError(req.url, limit);
              }
              chunks.push(b);
            }
            return Buffer.concat(chunks);
          },
          discard() {
            res.resume();
          },
        };
        resolve(response);
      },
    );
    r.on('error', reject);
    if (req.body === undefined) {
      r.end();
    } else if (req.body instanceof Uint8Array) {
      r.end(req.body);
    } else {
      pipeline(Readable.from(req.body, { objectMode: false }), r).catch((err: unknown) => {
        r.destroy(err instanceof Error ? err : new Error(String(err)));
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    }
  });
}
