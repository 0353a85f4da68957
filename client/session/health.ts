import { encodeMessage } from '../../proto/codec.js';
import type { SessionAttachable } from './attachable.js';

const SERVING = 1;

/** grpc.health.v1.Health/Check, always SERVING: the daemon drops sessions that stop answering. */
export function healthAttachable(): SessionAttachable {
  return {
    methods: [
      {
        kind: 'unary',
        path: '/grpc.health.v1.Health/Check',
        handler: (_call, callback) => {
          callback(
            null,
            Buffer.from(encodeMessage('grpc.health.v1.HealthCheckResponse', { status: SERVING })),
          );
        },
      },
    ],
  };
}
