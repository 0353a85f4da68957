import type { Http2Session } from 'node:http2';
import { Metadata, Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { type BytesMessageCall, TunnelDuplex } from '../../daemon/session/tunnel-duplex.js';
import { InvalidArgumentError, throwIfAborted } from '../../proto/errors.js';
import type { SessionAttachable } from './attachable.js';
import { healthAttachable } from './health.js';
import { newSessionId } from './session-id.js';

/**
 * The client end of a BuildKit session: opens Control.Session and serves gRPC (HTTP/2 server) over
 * the tunnel to the daemon, which calls back for files, credentials and outputs.
 */

/** A grpc-js Control client (proto-loader keepCase names `Session`) or a function that opens the call. */
export type SessionConnection =
  | { Session(metadata: Metadata): BytesMessageCall }
  | { session(metadata: Metadata): BytesMessageCall }
  | ((metadata: Metadata) => BytesMessageCall);

export interface StartSessionOptions {
  readonly conn: SessionConnection;
  /** Shown by the daemon; buildctl uses basename(cwd). */
  readonly name: string;
  /** Scopes local-source snapshot reuse; buildctl sends "". */
  readonly sharedKey?: string;
  readonly attachables: readonly SessionAttachable[];
  readonly signal: AbortSignal;
  /** Defaults to a fresh BuildKit-style id. */
  readonly id?: string;
}

export interface ClientSession {
  readonly id: string;
  /** Resolves when the daemon has ended the session (or close() finished). */
  readonly done: Promise<void>;
  close(): Promise<void>;
}

const identity = (b: Buffer) => b;

function openCall(conn: SessionConnection, md: Metadata): BytesMessageCall {
  if (typeof conn === 'function') return conn(md);
  if ('Session' in conn) return conn.Session(md);
  return conn.session(md);
}

const STREAM_WINDOW = 8 * 1024 * 1024;
const SESSION_WINDOW = 32 * 1024 * 1024;
/**
 * The largest frame the daemon may send us: Kiln's daemon fills frames up to it (a 1 MiB export
 * chunk in one DATA frame instead of 64), which saves HTTP/2 work per byte on both ends.
 */
const MAX_FRAME = 1024 * 1024;

/**
 * Widens the HTTP/2 receive windows of the session grpc-js serves over the tunnel: every
 * WINDOW_UPDATE crosses the tunnel, so the 64 KiB defaults capped exports at one window per round
 * trip. grpc-js has no option for it; its Server keeps its HTTP/2 sessions in a `sessions` map
 * (1.14), which is where we find ours. Without it, transfers still work, only slower.
 */
function widenFlowControl(server: Server): void {
  const sessions: unknown = (server as unknown as { sessions?: unknown }).sessions;
  if (!(sessions instanceof Map)) return;
  for (const key of sessions.keys() as Iterable<unknown>) {
    const h2 = key as Partial<Http2Session> | null;
    if (typeof h2?.setLocalWindowSize !== 'function' || typeof h2.settings !== 'function') continue;
    try {
      h2.setLocalWindowSize(SESSION_WINDOW);
      h2.settings({ initialWindowSize: STREAM_WINDOW, maxFrameSize: MAX_FRAME });
    } catch {
      // Session already closing: nothing to tune.
    }
  }
}

export async function startSession(opts: StartSessionOptions): Promise<ClientSession> {
  throwIfAborted(opts.signal);
  const id = opts.id ?? newSessionId();
  const server = new Server();
  const paths = new Set<string>();
  for (const a of [healthAttachable(), ...opts.attachables]) {
    for (const m of a.methods) {
      if (paths.has(m.path)) throw new InvalidArgumentError(`session method ${m.path} is served twice`);
      paths.add(m.path);
      if (m.kind === 'unary') server.register(m.path, m.handler, identity, identity, 'unary');
      else
        server.register(
          m.path,
          m.handler as (call: ServerDuplexStream<Buffer, Buffer>) => void,
          identity,
          identity,
          'bidi',
        );
    }
  }

  const md = new Metadata();
  md.set('x-docker-expose-session-uuid', id);
  md.set('x-docker-expose-session-name', opts.name);
  md.set('x-docker-expose-session-sharedkey', opts.sharedKey ?? '');
  // One header field per method: the daemon reads them as repeated values.
  for (const p of paths) md.add('x-docker-expose-session-grpc-method', p);

  const call = openCall(opts.conn, md);
  const conn = new TunnelDuplex(call);
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  injector.injectConnection(conn);
  widenFlowControl(server);

  const done = new Promise<void>((resolve) => {
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      resolve();
    };
    conn.once('close', finish);
    conn.once('end', finish);
    call.once('status', finish);
    call.once('error', finish);
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      opts.signal.removeEventListener('abort', onAbort);
      // CloseSend, then wait for the daemon to end the session (BuildKit drains to EOF).
      conn.end();
      const timeout = new Promise<void>((r) => setTimeout(r, 5000).unref());
      await Promise.race([done, timeout]);
      injector.destroy();
      conn.destroy();
      server.forceShutdown();
    })();
    return closing;
  };
  const onAbort = () => void close();
  opts.signal.addEventListener('abort', onAbort, { once: true });
  // The session is dead once the daemon goes away; release the server then too.
  void done.then(() => {
    if (!closing) void close();
  });
  return { id, done, close };
}
