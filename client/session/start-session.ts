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
