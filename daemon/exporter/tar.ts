import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '../../proto/errors.js';
import { tarDirectoryLeased } from '../../worker/fs/tar-writer.js';
import { sendTarToClient } from '../session/filesync.js';
import type { Exporter, ExporterInstance } from './types.js';

/** `tar`: the result's files as one tar stream into the client's `dest` file (or stdout). */
export function createTarExporter(): Exporter {
  return {
    resolve(attrs): ExporterInstance {
      for (const key of Object.keys(attrs)) {
        if (key !== 'attestation-prefix' && key !== 'source-date-epoch' && key !== 'prefer-nondist-layers') {
          throw new InvalidArgumentError(`tar exporter: unknown attribute "${key}"`);
        }
      }
      return {
        name: 'sending tarball',
        async export({ ref, session, signal, progress }) {
          let dir = ref?.snapshot.dir;
          let empty: string | undefined;
          if (!dir) {
            empty = await mkdtemp(path.join(os.tmpdir(), 'kiln-empty-'));
            dir = empty;
          }
          try {
            let sent = 0;
            // Chunks of shared memory the tar thread fills again once their bytes are sent: a fresh
            // buffer per chunk made V8 collect garbage every few dozen MiB of an export.
            const counted = async function* () {
              for await (const chunk of tarDirectoryLeased(dir, signal)) {
                sent += chunk.bytes.byteLength;
                progress.status('sending tarball', { current: sent });
                yield chunk;
              }
            };
            await sendTarToClient(session, counted(), {}, signal);
            progress.status('sending tarball', { completed: true });
            return {};
          } finally {
            if (empty) await rm(empty, { recursive: true, force: true });
          }
        },
      };
    },
  };
}
