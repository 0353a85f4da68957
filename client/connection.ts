import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ErrorCodes, InvalidArgumentError, KilnError } from '../proto/errors.js';
import type { ControlClient } from '../proto/generated/moby/buildkit/v1/Control.js';
import type { LLBBridgeClient } from '../proto/generated/moby/buildkit/v1/frontend/LLBBridge.js';
import type { KilnGrpcServices } from '../proto/index.js';

export const defaultAddress = 'unix:///run/kiln/kilnd.sock';
/** BuildKit's limit for both directions. */
export const maxMessageBytes = 16 * 1024 * 1024;
export const defaultDialTimeoutSeconds = 5;

export interface TlsOptions {
  readonly caCert?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly serverName?: string;
  /** Holds ca.pem, cert.pem, key.pem (or ca.crt, tls.crt, tls.key). */
  readonly dir?: string;
}

export interface ConnectOptions {
  /** `--addr`; falls back to BUILDKIT_HOST, then defaultAddress. */
  readonly addr?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly tls?: TlsOptions;
  /** `--timeout` in seconds; bounds the wait for the connection. */
  readonly timeoutSeconds?: number;
  readonly signal?: AbortSignal;
}

export type DaemonAddress =
  | { readonly scheme: 'unix'; readonly path: string; readonly url: string }
  | { readonly scheme: 'tcp'; readonly host: string; readonly port: number; readonly url: string };

export class ConnectionError extends KilnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.Unavailable, message, options);
    this.name = 'ConnectionError';
  }
}

/** `--addr`, else $BUILDKIT_HOST, else the default socket. */
export function resolveAddress(addr: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (addr !== undefined && addr !== '') return addr;
  const fromEnv = env.BUILDKIT_HOST;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return defaultAddress;
}

export function parseAddress(url: string): DaemonAddress {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/u.exec(url);
  if (!m)
    throw new InvalidArgumentError(
      `invalid daemon address ${url}: expected unix://<path> or tcp://<host>:<port>`,
    );
  const scheme = m[1] ?? '';
  const rest = m[2] ?? '';
  switch (scheme) {
    case 'unix': {
      if (rest === '') throw new InvalidArgumentError(`invalid daemon address ${url}: missing socket path`);
      return { scheme: 'unix', path: rest, url };
    }
    case 'tcp': {
      const hp = /^(\[[^\]]+\]|[^:/]+):(\d+)\/?$/u.exec(rest);
      if (!hp) throw new InvalidArgumentError(`invalid daemon address ${url}: expected tcp://<host>:<port>`);
      const port = Number(hp[2]);
      if (!Number.isInteger(port) || port <= 0 || port > 65535) {
        throw new InvalidArgumentError(`invalid daemon address ${url}: bad port`);
      }
      return { scheme: 'tcp', host: hp[1] ?? '', port, url };
    }
    default:
      throw new InvalidArgumentError(
        `unsupported daemon address scheme "${scheme}" in ${url}: kilnctl supports unix:// and tcp://`,
      );
  }
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new InvalidArgumentError(`could not read ${what} ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function firstExisting(dir: string, names: readonly string[]): string | undefined {
  for (const n of names) {
    const p = join(dir, n);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // try the next spelling
    }
  }
  return undefined;
}

/** Resolves --tlsdir into the individual files; mixing both forms is an error, as in buildctl. */
export function resolveTlsFiles(tls: TlsOptions): { caCert?: string; cert?: string; key?: string } {
  if (tls.dir !== undefined && tls.dir !== '') {
    if (tls.caCert !== undefined || tls.cert !== undefined || tls.key !== undefined) {
      throw new InvalidArgumentError('cannot specify tlsdir and tlscacert/tlscert/tlskey at the same time');
    }
    const caCert = firstExisting(tls.dir, ['ca.pem', 'ca.crt']);
    const cert = firstExisting(tls.dir, ['cert.pem', 'tls.crt']);
    const key = firstExisting(tls.dir, ['key.pem', 'tls.key']);
    return {
      ...(caCert === undefined ? {} : { caCert }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
    };
  }
  return {
    ...(tls.caCert === undefined ? {} : { caCert: tls.caCert }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
  };
}

function usesTls(tls: TlsOptions | undefined): boolean {
  if (tls === undefined) return false;
  return [tls.caCert, tls.cert, tls.key, tls.dir, tls.serverName].some((v) => v !== undefined && v !== '');
}

/** HTTP/2 receive window (stream and connection) of the channel to the daemon. */
const channelFlowControlWindow = 16 * 1024 * 1024;

/** What grpc-js needs to reach the daemon: target, credentials and channel options. */
export function channelSettings(
  address: DaemonAddress,
  tls: TlsOptions | undefined,
): { target: string; credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  const options: grpc.ChannelOptions = {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    // Session tunnel traffic (exports, local sources) rides one stream: with the 64 KiB HTTP/2
    // defaults every 1 MiB tunnel message waited out ~16 window updates.
    'grpc-node.flow_control_window': channelFlowControlWindow,
  };
  if (address.scheme === 'unix') {
    if (usesTls(tls)) throw new InvalidArgumentError('TLS options apply only to tcp:// addresses');
    // The daemon sees `localhost` as authority, as with Go's unix dialer.
    options['grpc.default_authority'] = 'localhost';
    return { target: `unix://${address.path}`, credentials: grpc.credentials.createInsecure(), options };
  }
  const target = `${address.host}:${address.port}`;
  if (!usesTls(tls) || tls === undefined) {
    return { target, credentials: grpc.credentials.createInsecure(), options };
  }
  const files = resolveTlsFiles(tls);
  const ca = files.caCert === undefined ? null : readPem(files.caCert, 'CA certificate');
  const key = files.key === undefined ? null : readPem(files.key, 'client key');
  const cert = files.cert === undefined ? null : readPem(files.cert, 'client certificate');
  if ((key === null) !== (cert === null))
    throw new InvalidArgumentError('--tlscert and --tlskey must be given together');
  if (tls.serverName !== undefined && tls.serverName !== '') {
    options['grpc.ssl_target_name_override'] = tls.serverName;
    options['grpc.default_authority'] = tls.serverName;
  }
  return { target, credentials: grpc.credentials.createSsl(ca, key, cert), options };
}

/** A connection to kilnd or buildkitd: the Control and LLBBridge clients share one channel. */
export interface DaemonConnection extends Disposable {
  readonly address: string;
  readonly control: ControlClient;
  readonly bridge: LLBBridgeClient;
  close(): void;
}

function reachabilityHint(address: DaemonAddress): string | undefined {
  if (address.scheme !== 'unix') return undefined;
  try {
    statSync(address.path);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `no socket at ${address.path}`;
    if (code === 'EACCES') return `permission denied on ${address.path}`;
    return undefined;
  }
}

/**
 * Dials the daemon and waits (at most `timeoutSeconds`) until the channel is ready, so that a
 * daemon that is not running gives one clear error instead of a failure deep inside a build.
 */
export async function connect(
  services: KilnGrpcServices,
  opts: ConnectOptions = {},
): Promise<DaemonConnection> {
  const url = resolveAddress(opts.addr, opts.env);
  const address = parseAddress(url);
  // A missing socket cannot appear in time to matter: say so at once instead of waiting out the dial.
  const early = reachabilityHint(address);
  if (early !== undefined)
    throw new ConnectionError(`cannot connect to kilnd at ${url}: ${early}; is it running?`);
  const { target, credentials, options } = channelSettings(address, opts.tls);
  const control = new services.Control(target, credentials, options);
  const bridge = new services.LLBBridge(target, credentials, {
    ...options,
    channelOverride: control.getChannel(),
  });
  const close = () => {
    bridge.close();
    control.close();
  };
  const timeoutMs = (opts.timeoutSeconds ?? defaultDialTimeoutSeconds) * 1000;
  try {
    await new Promise<void>((resolve, reject) => {
      const onAbort = () =>
        reject(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('aborted'));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      control.waitForReady(new Date(Date.now() + timeoutMs), (err) => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      });
    });
  } catch (err) {
    close();
    if (opts.signal?.aborted) throw err;
    const hint = reachabilityHint(address);
    const why = hint ?? `no answer within ${timeoutMs / 1000}s`;
    throw new ConnectionError(`cannot connect to kilnd at ${url}: ${why}; is it running?`, { cause: err });
  }
  return { address: url, control, bridge, close, [Symbol.dispose]: close };
}
