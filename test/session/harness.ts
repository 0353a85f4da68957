import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  Client,
  credentials,
  type Metadata,
  Server,
  ServerCredentials,
  type ServerDuplexStream,
} from '@grpc/grpc-js';
import { SessionManager, type SessionManagerOptions } from '../../daemon/session/manager.js';
import type { BytesMessageCall } from '../../daemon/session/tunnel-duplex.js';
import { decodeMessage, encodeMessage } from '../../proto/codec.js';
import { toGrpcStatus } from '../../proto/errors.js';

/** A real grpc-js server with a minimal Control.Session wired to a SessionManager, on a unix socket. */

const SESSION_PATH = '/moby.buildkit.v1.Control/Session';
const serialize = (v: { data: Uint8Array }) => Buffer.from(encodeMessage('moby.buildkit.v1.BytesMessage', v));
const deserialize = (b: Buffer) => decodeMessage<{ data: Uint8Array }>('moby.buildkit.v1.BytesMessage', b);

export interface Harness {
  readonly manager: SessionManager;
  readonly tmp: string;
  readonly open: (md: Metadata) => BytesMessageCall;
  close(): Promise<void>;
}

export async function startHarness(opts: SessionManagerOptions = {}): Promise<Harness> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-session-'));
  const manager = new SessionManager(opts);
  const shutdown = new AbortController();
  const server = new Server();
  server.register(
    SESSION_PATH,
    (call: ServerDuplexStream<{ data: Uint8Array }, { data: Uint8Array }>) => {
      manager.handle(call, call.metadata, shutdown.signal).then(
        () => {
          if (!call.writableEnded) call.end();
        },
        (err: unknown) => {
          const st = toGrpcStatus(err);
          call.emit('error', { code: st.code, details: st.details });
        },
      );
    },
    serialize,
    deserialize,
    'bidi',
  );
  const sock = path.join(tmp, 'kilnd.sock');
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${sock}`, ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  const client = new Client(`unix://${sock}`, credentials.createInsecure());
  const open = (md: Metadata) =>
    client.makeBidiStreamRequest(SESSION_PATH, serialize, deserialize, md) as unknown as BytesMessageCall;
  return {
    manager,
    tmp,
    open,
    close: async () => {
      shutdown.abort(new Error('test over'));
      client.close();
      server.forceShutdown();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
