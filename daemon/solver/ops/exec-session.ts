import { chmod, chown } from 'node:fs/promises';
import net from 'node:net';
import { decodeMessage, encodeMessage } from '../../../proto/codec.js';
import { KilnError, NotFoundError, throwIfAborted } from '../../../proto/errors.js';
import type { Session } from '../../session/session.js';

/** What exec needs from the session manager (SessionManager satisfies it). */
export interface SessionSource {
  get(id: string, opts: { signal: AbortSignal; timeoutMs?: number }): Promise<SessionCaller>;
}

export type SessionCaller = Pick<Session, 'unary' | 'stream'>;

const GET_SECRET = '/moby.buildkit.secrets.v1.Secrets/GetSecret';
const CHECK_AGENT = '/moby.sshforward.v1.SSH/CheckAgent';
const FORWARD_AGENT = '/moby.sshforward.v1.SSH/ForwardAgent';
const SESSION_WAIT_MS = 5000;

/** "Not provided here": try the next session, and in the end fail unless optional. */
function isNotProvided(err: unknown): boolean {
  return err instanceof KilnError && (err.code === 'NOT_FOUND' || err.code === 'UNIMPLEMENTED');
}

/**
 * Calls `fn` on each of the job's sessions in order until one provides the answer. Undefined when
 * none does.
 */
async function firstProvider<T>(
  sessions: SessionSource,
  sessionIds: readonly string[],
  signal: AbortSignal,
  fn: (s: SessionCaller) => Promise<T>,
): Promise<{ value: T; session: SessionCaller } | undefined> {
  for (const id of sessionIds) {
    throwIfAborted(signal);
    let session: SessionCaller;
    try {
      session = await sessions.get(id, { signal, timeoutMs: SESSION_WAIT_MS });
    } catch (err) {
      if (isNotProvided(err)) continue;
      throw err;
    }
    try {
      return { value: await fn(session), session };
    } catch (err) {
      if (isNotProvided(err)) continue;
      throw err;
    }
  }
  return undefined;
}

/** The secret's bytes from the first session that has it, or undefined when none does. */
export async function fetchSecret(
  sessions: SessionSource,
  sessionIds: readonly string[],
  id: string,
  signal: AbortSignal,
): Promise<Uint8Array | undefined> {
  const req = encodeMessage('moby.buildkit.secrets.v1.GetSecretRequest', { ID: id });
  const found = await firstProvider(sessions, sessionIds, signal, async (s) => {
    const res = await s.unary(GET_SECRET, req, {}, signal);
    return decodeMessage<{ data: Uint8Array }>('moby.buildkit.secrets.v1.GetSecretResponse', res).data;
  });
  return found?.value;
}

export interface SshForwarder extends AsyncDisposable {
  close(): Promise<void>;
}

/**
 * A unix socket on the host (bound into the container) whose every connection becomes a
 * `ForwardAgent` stream to the client's ssh-agent. Undefined when no session has agent `id`.
 */
export async function listenSshAgent(opts: {
  sessions: SessionSource;
  sessionIds: readonly string[];
  id: string;
  socketPath: string;
  uid: number;
  gid: number;
  mode: number;
  signal: AbortSignal;
}): Promise<SshForwarder | undefined> {
  const { signal, id } = opts;
  const checkReq = encodeMessage('moby.sshforward.v1.CheckAgentRequest', { ID: id });
  const found = await firstProvider(opts.sessions, opts.sessionIds, signal, (s) =>
    s.unary(CHECK_AGENT, checkReq, {}, signal),
  );
  if (!found) return undefined;
  const session = found.session;
  const conns = new Set<net.Socket>();
  const stop = new AbortController();
  const callSignal = AbortSignal.any([signal, stop.signal]);
  const server = net.createServer((sock) => {
    conns.add(sock);
    sock.once('close', () => conns.delete(sock));
    sock.on('error', () => sock.destroy());
    void forward(sock).catch(() => sock.destroy());
  });
  async function forward(sock: net.Socket): Promise<void> {
    const call = session.stream(FORWARD_AGENT, { 'buildkit.ssh.id': id }, callSignal);
    const upstream = (async () => {
      for await (const chunk of sock) {
        await call.send(encodeMessage('moby.sshforward.v1.BytesMessage', { data: chunk as Buffer }));
      }
      call.end();
    })();
    try {
      for await (const m of call) {
        const { data } = decodeMessage<{ data: Uint8Array }>('moby.sshforward.v1.BytesMessage', m);
        if (!sock.write(data)) await new Promise((r) => sock.once('drain', r));
      }
      sock.end();
    } finally {
      await upstream.catch(() => {});
      sock.destroy();
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const close = async () => {
    stop.abort(new NotFoundError('the build step ended'));
    for (const c of conns) c.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  try {
    await chown(opts.socketPath, opts.uid, opts.gid);
    await chmod(opts.socketPath, opts.mode);
  } catch (err) {
    await close();
    throw err;
  }
  return { close, [Symbol.asyncDispose]: close };
}
