import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { KilnError } from '../../proto/errors.js';
import type { Owner } from './file-action-types.js';
import { extractEntries } from './tar-extract.js';

/**
 * Extracts an (already decompressed) tar into `destDir` as ADD does, with tar-extract.ts's safety
 * rules: names are taken relative to destDir (a leading `/` is dropped), a directory entry over a
 * symlink to a directory extends it, `owner` (--chown) replaces every entry's owner and `mode`
 * (--chmod) the permission bits of files and directories.
 */

export class ArchiveEntryError extends KilnError {
  readonly entry: string;
  constructor(entry: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', `archive entry ${JSON.stringify(entry)}: ${message}`, options);
    this.name = 'ArchiveEntryError';
    this.entry = entry;
  }
}

export interface ExtractOptions {
  readonly owner?: Owner | undefined;
  readonly mode?: number | undefined;
}

export async function extractTar(
  source: Readable,
  destDir: string,
  opts: ExtractOptions,
  signal: AbortSignal,
): Promise<void> {
  signal.throwIfAborted();
  const extract = tar.extract();
  const onSourceError = (err: Error) => extract.destroy(err);
  source.on('error', onSourceError);
  source.pipe(extract);
  try {
    await extractEntries(
      extract,
      destDir,
      {
        ...opts,
        error: archiveError,
        rootName: 'extraction root',
        absoluteNames: 'strip',
        whiteouts: false,
        followDirectorySymlinks: true,
      },
      signal,
    );
  } catch (err) {
    source.unpipe(extract);
    extract.destroy();
    throw err;
  } finally {
    source.off('error', onSourceError);
  }
}

function archiveError(entry: string, message: string, cause?: unknown): ArchiveEntryError {
  return new ArchiveEntryError(entry, message, cause === undefined ? undefined : { cause });
}
