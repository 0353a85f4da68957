import { InvalidArgumentError } from '../../proto/errors.js';
import { sendDirToClient } from '../session/filesync.js';
import type { Exporter, ExporterInstance } from './types.js';

/** `local`: the result's files, sent into the client's `dest` directory over FileSend. */
export function createLocalExporter(): Exporter {
  return {
    resolve(attrs): ExporterInstance {
      for (const key of Object.keys(attrs)) {
        if (key !== 'attestation-prefix' && key !== 'source-date-epoch' && key !== 'platform-split') {
          throw new InvalidArgumentError(`local exporter: unknown attribute "${key}"`);
        }
      }
      return {
        name: 'exporting to client directory',
        async export({ ref, session, signal, progress }) {
          if (!ref) return {};
          await sendDirToClient(session, ref.snapshot.dir, signal, {
            onProgress: (bytes) => progress.status('copying files', { current: bytes }),
          });
          progress.status('copying files', { completed: true });
          return {};
        },
      };
    },
  };
}
