import { readFile } from 'node:fs/promises';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { decodeMessage, encodeMessage } from '../proto/codec.js';
import type { SecretSource } from './commands/build-options.js';
import type { SessionAttachable } from './session/attachable.js';

/**
 * `moby.buildkit.secrets.v1.Secrets/GetSecret` for `--secret` (BuildKit secretsprovider): the
 * daemon asks by id; a missing id answers NotFound, which the daemon treats as "not provided".
 */
export function secretsAttachable(
  sources: readonly SecretSource[],
  env: NodeJS.ProcessEnv = process.env,
): SessionAttachable {
  const byId = new Map(sources.map((s) => [s.id, s]));
  return {
    methods: [
      {
        kind: 'unary',
        path: '/moby.buildkit.secrets.v1.Secrets/GetSecret',
        handler: (call, callback) => {
          const req = decodeMessage<{ ID: string }>(
            'moby.buildkit.secrets.v1.GetSecretRequest',
            call.request,
          );
          const src = byId.get(req.ID);
          if (src === undefined) {
            callback({ code: GrpcStatus.NOT_FOUND, details: `secret ${req.ID} not found` });
            return;
          }
          const reply = (data: Uint8Array) =>
            callback(
              null,
              Buffer.from(encodeMessage('moby.buildkit.secrets.v1.GetSecretResponse', { data })),
            );
          if (src.env !== undefined) {
            const value = env[src.env];
            if (value === undefined)
              callback({ code: GrpcStatus.NOT_FOUND, details: `secret ${req.ID} not found` });
            else reply(Buffer.from(value));
            return;
          }
          readFile(src.filePath ?? req.ID).then(reply, (err: unknown) =>
            callback({
              code: GrpcStatus.NOT_FOUND,
              details: `secret ${req.ID} not found: ${(err as Error).message}`,
            }),
          );
        },
      },
    ],
  };
}
