import net from 'node:net';
import { Metadata, type ServerDuplexStream, status as GrpcStatus } from '@grpc/grpc-js';
import { decodeMessage, encodeMessage } from '../../proto/codec.js';
import { InvalidArgumentError } from '../../proto/errors.js';
import type { SshAgentConfig } from '../commands/build-options.js';
import type { SessionAttachable } from './attachable.js';
import { metadataValues } from './attachable.js';

export type { SshAgentConfig };

/**
 * `moby.sshforward.v1.SSH` (BuildKit session/sshforward/sshprovider): the daemon checks that an
 * agent id exists, then opens one ForwardAgent stream per connection made inside the container,
 * which is proxied byte for byte to the local agent socket.
 */
export function sshAgentAttachable(
  configs: readonly SshAgentConfig[],
  env: NodeJS.ProcessEnv = process.env,
): SessionAttachable {
  const sockets = new Map<string, string>();
  for (const c of configs) {
    const id = c.id || 'default';
    if (sockets.has(id)) throw new InvalidArgumentError(`duplicate ssh id ${JSON.stringify(id)}`);
    const p = c.paths[0] ?? env.SSH_AUTH_SOCK;
    if (c.paths.length > 1)
      throw new InvalidArgumentError(`ssh ${id}: only one agent socket is supported, got ${c.paths.length}`);
    if (p === undefined || p === '')
      throw new InvalidArgumentError(`ssh ${id}: no socket given and SSH_AUTH_SOCK is not set`);
    sockets.set(id, p);
  }
  return {
    methods: [
      {
        kind: 'unary',
        path: '/moby.sshforward.v1.SSH/CheckAgent',
        handler: (call, callback) => {
          const req = decodeMessage<{ ID: string }>('moby.sshforward.v1.CheckAgentRequest', call.request);
          const id = req.ID || 'default';
          if (!sockets.has(id)) {
            callback({ code: GrpcStatus.NOT_FOUND, details: `unset ssh forward key ${id}` });
            return;
          }
          callback(null, Buffer.from(encodeMessage('moby.sshforward.v1.CheckAgentResponse', {})));
        },
      },
      {
        kind: 'bidi',
        path: '/moby.sshforward.v1.SSH/ForwardAgent',
        handler: (call: ServerDuplexStream<Buffer, Buffer>) => {
          const id = metadataValues(call.metadata, 'buildkit.ssh.id')[0] ?? 'default';
          const socketPath = sockets.get(id);
          if (socketPath === undefined) {
            call.emit('error', { code: GrpcStatus.NOT_FOUND, details: `unset ssh forward key ${id}` });
            return;
          }
          proxy(call, socketPath);
        },
      },
    ],
  };
}

function proxy(call: ServerDuplexStream<Buffer, Buffer>, socketPath: string): void {
  const sock = net.connect(socketPath);
  let failed = false;
  const fail = (err: Error) => {
    if (failed) return;
    failed = true;
    sock.destroy();
    call.emit('error', {
      code: GrpcStatus.UNAVAILABLE,
      details: `ssh agent ${socketPath}: ${err.message}`,
      metadata: new Metadata(),
    });
  };
  sock.on('error', fail);
  sock.on('data', (chunk: Buffer) => {
    const ok = call.write(Buffer.from(encodeMessage('moby.sshforward.v1.BytesMessage', { data: chunk })));
    if (!ok) {
      sock.pause();
      call.once('drain', () => sock.resume());
    }
  });
  sock.on('end', () => {
    if (!call.writableEnded) call.end();
  });
  call.on('data', (msg: Buffer) => {
    const { data } = decodeMessage<{ data: Uint8Array }>('moby.sshforward.v1.BytesMessage', msg);
    sock.write(data);
  });
  call.on('end', () => sock.end());
  call.on('cancelled', () => sock.destroy());
  call.on('error', () => sock.destroy());
}
