import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError, KilnError } from '../proto/errors.js';

export interface TlsFiles {
  readonly cert?: string;
  readonly key?: string;
  readonly ca?: string;
}

/** A parsed `--addr`: `unix:///path` or `tcp://host:port`. */
export type ListenAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export function parseListenAddress(addr: string): ListenAddress {
  if (addr.startsWith('unix://')) {
    const p = addr.slice('unix://'.length);
    if (!p.startsWith('/'))
      throw new InvalidArgumentError(`--addr ${addr}: a unix socket path must be absolute`);
    return { kind: 'unix', path: p };
  }
  if (addr.startsWith('tcp://')) {
    const u = new URL(`http://${addr.slice('tcp://'.length)}`);
    const port = Number(u.port);
    if (!u.port || !Number.isInteger(port))
      throw new InvalidArgumentError(`--addr ${addr}: a port is required`);
    return { kind: 'tcp', host: u.hostname.replace(/^\[|\]$/g, ''), port };
  }
  throw new InvalidArgumentError(`--addr ${addr}: unsupported scheme (use unix:// or tcp://)`);
}

/** Whether something answers on a unix socket: a live daemon, as opposed to a stale file. */
function socketAnswers(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(p);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function prepareUnixSocket(p: string): Promise<void> {
  await mkdir(path.dirname(p), { recursive: true, mode: 0o711 });
  const st = await stat(p).catch(() => undefined);
  if (!st) return;
  if (!st.isSocket())
    throw new KilnError('ALREADY_EXISTS', `${p} exists and is not a socket; refusing to replace it`);
  if (await socketAnswers(p)) {
    throw new KilnError(
      'ALREADY_EXISTS',
      `socket ${p} is in use: another kilnd (or buildkitd) is listening there`,
    );
  }
  await rm(p, { force: true });
}

async function credentials(addr: ListenAddress, tls: TlsFiles): Promise<grpc.ServerCredentials> {
  if (addr.kind === 'unix' || (!tls.cert && !tls.key)) return grpc.ServerCredentials.createInsecure();
  if (!tls.cert || !tls.key) throw new InvalidArgumentError('TLS needs both --tlscert and --tlskey');
  const [cert, key, ca] = await Promise.all([
    readFile(tls.cert),
    readFile(tls.key),
    tls.ca ? readFile(tls.ca) : Promise.resolve(null),
  ]);
  // With a CA, clients must present a certificate it signed (mTLS), as buildkitd does.
  return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], ca !== null);
}

/** Binds the server to each address; returns a cleanup that removes the socket files it made. */
export async function listen(
  server: grpc.Server,
  addresses: readonly string[],
  tls: TlsFiles,
): Promise<() => Promise<void>> {
  const sockets: string[] = [];
  for (const raw of addresses) {
    const addr = parseListenAddress(raw);
    if (addr.kind === 'unix') await prepareUnixSocket(addr.path);
    const target =
      addr.kind === 'unix'
        ? `unix:${addr.path}`
        : `${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${addr.port}`;
    const creds = await credentials(addr, tls);
    await new Promise<number>((resolve, reject) =>
      server.bindAsync(target, creds, (err, port) => {
        if (err)
          reject(new KilnError('UNAVAILABLE', `cannot listen on ${raw}: ${err.message}`, { cause: err }));
        else resolve(port);
      }),
    );
    if (addr.kind === 'unix') sockets.push(addr.path);
  }
  return async () => {
    await Promise.all(sockets.map((s) => rm(s, { force: true })));
  };
}
