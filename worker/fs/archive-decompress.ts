import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { KilnError } from '../../proto/errors.js';

/**
 * Compressed archives as Docker's DecompressStream sees them: the format is told by the first
 * bytes, never by the file name. gzip is decoded in-process; bzip2, xz and zstd by the Debian
 * `bzip2`, `xz-utils` and `zstd` commands, so no native npm module is needed.
 */

export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

const magics: readonly (readonly [Compression, readonly number[]])[] = [
  ['gzip', [0x1f, 0x8b, 0x08]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
];

export function detectCompression(head: Uint8Array): Compression {
  for (const [kind, magic] of magics) {
    if (head.byteLength >= magic.length && magic.every((b, i) => head[i] === b)) return kind;
  }
  return 'none';
}

export class DecompressError extends KilnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
    this.name = 'DecompressError';
  }
}

const commands: Record<'bzip2' | 'xz' | 'zstd', string> = { bzip2: 'bzip2', xz: 'xz', zstd: 'zstd' };

/** A decompressed view of a file; dispose it to stop the decoder (and its process) early. */
export interface DecompressedFile extends AsyncDisposable {
  readonly compression: Compression;
  readonly stream: Readable;
  /** Settles once the decoder finished: rejects when the input was corrupt. */
  finished(): Promise<void>;
}

export async function openDecompressed(file: string, signal: AbortSignal): Promise<DecompressedFile> {
  signal.throwIfAborted();
  const fh = await open(file, 'r');
  let compression: Compression;
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    compression = detectCompression(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
  const raw = createReadStream(file, { signal });
  if (compression === 'bzip2' || compression === 'xz' || compression === 'zstd') {
    const child = spawn(commands[compression], ['-d', '-c'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      signal,
    });
    // The decoder may exit early (corrupt input, or disposed): its stdin closing is not our error.
    child.stdin.on('error', () => undefined);
    raw.on('error', () => child.kill('SIGKILL'));
    raw.pipe(child.stdin);
    return childStream(compression, raw, child);
  }
  if (compression === 'none') {
    return {
      compression,
      stream: raw,
      finished: () => Promise.resolve(),
      [Symbol.asyncDispose]: () => {
        raw.destroy();
        return Promise.resolve();
      },
    };
  }
  const gunzip = createGunzip();
  raw.on('error', (err) => gunzip.destroy(err));
  raw.pipe(gunzip);
  const finished = new Promise<void>((resolve, reject) => {
    gunzip.on('end', resolve);
    gunzip.on('error', (err) => reject(new DecompressError(`gzip: ${err.message}`, { cause: err })));
  });
  finished.catch(() => undefined);
  return {
    compression,
    stream: gunzip,
    finished: () => finished,
    [Symbol.asyncDispose]: () => {
      raw.destroy();
      gunzip.destroy();
      return Promise.resolve();
    },
  };
}

function childStream(
  compression: Compression,
  raw: Readable,
  child: ChildProcessByStdio<Writable, Readable, Readable>,
): DecompressedFile {
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  let disposed = false;
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new DecompressError(
          missing
            ? `cannot decompress ${compression}: the ${commands[compression as 'xz']} command is not installed`
            : `${compression}: ${err.message}`,
          { cause: err },
        ),
      );
    });
    child.on('close', (code, sig) => {
      if (code === 0 || disposed) resolve();
      else
        reject(
          new DecompressError(
            `${compression}: ${stderr.trim() || `decoder exited with ${code ?? sig ?? 'unknown status'}`}`,
          ),
        );
    });
  });
  exited.catch(() => undefined);
  child.stdout.on('error', () => undefined);
  return {
    compression,
    stream: child.stdout,
    finished: () => exited,
    [Symbol.asyncDispose]: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        disposed = true;
        raw.destroy();
        child.stdout.destroy();
        child.kill('SIGKILL');
      }
      await exited.catch(() => undefined);
    },
  };
}
