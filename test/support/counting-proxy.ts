/**
 * A pass-through HTTP proxy in front of a test registry that records every request, so tests can
 * count what a pull really fetched.
 *
 *   const proxy = await startCountingProxy(reg.host);  // proxy.host === '127.0.0.1:PORT'
 *   ...pull `${proxy.host}/busybox:latest`...
 *   proxy.requests  // ['GET /v2/busybox/manifests/latest', 'GET /v2/busybox/blobs/sha256:…', …]
 *   await proxy.close();
 */
import http from 'node:http';

export interface CountingProxy {
  readonly host: string;
  /** `METHOD path` of every request, in arrival order. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startCountingProxy(upstream: string): Promise<CountingProxy> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const up = http.request(
      `http://${upstream}${req.url}`,
      { method: req.method, headers: { ...req.headers, host: upstream } },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    host: `127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
