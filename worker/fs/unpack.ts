import { lstat } from 'node:fs/promises';
import { extractTar } from './archive-extract.js';
import { openDecompressed } from './archive-decompress.js';
import { cleanPath } from './clean-path.js';
import type { Owner } from './file-action-types.js';
import { mkdirAll } from './mkdir-all.js';
import { resolveInRoot } from './root-path.js';

/**
 * ADD's archive handling (FileActionCopy.attemptUnpackDockerCompatibility, BuildKit's
 * file/unpack.go): a regular file that decompresses (gzip, bzip2, xz, zstd or none) to something
 * whose first tar header is valid is extracted into the destination directory; anything else is
 * left for the ordinary copy.
 */

const blockSize = 512;

/** Whether a 512-byte block is a tar header with a valid checksum (all zeros is the end marker). */
export function isTarHeader(block: Uint8Array): boolean {
  if (block.byteLength < blockSize) return false;
  let unsigned = 0;
  let signed = 0;
  let zero = true;
  for (let i = 0; i < blockSize; i++) {
    // The checksum field itself counts as eight spaces.
    const b = i >= 148 && i < 156 ? 0x20 : (block[i] as number);
    if (block[i] !== 0) zero = false;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  if (zero) return false;
  const field = Buffer.from(block.subarray(148, 156))
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .trim();
  if (!/^[0-7]+$/.test(field)) return false;
  const stored = parseInt(field, 8);
  return stored === unsigned || stored === signed;
}

/** Reads the first tar block of the decompressed file; errors of any kind mean "not an archive". */
export async function isArchiveFile(hostPath: string, signal: AbortSignal): Promise<boolean> {
  const st = await lstat(hostPath).catch(() => undefined);
  if (!st?.isFile()) return false;
  try {
    await using file = await openDecompressed(hostPath, signal);
    const chunks: Buffer[] = [];
    let have = 0;
    for await (const chunk of file.stream) {
      const buf = chunk as Buffer;
      chunks.push(buf);
      have += buf.byteLength;
      if (have >= blockSize) break;
    }
    return isTarHeader(Buffer.concat(chunks).subarray(0, blockSize));
  } catch {
    signal.throwIfAborted();
    return false;
  }
}

export interface UnpackOptions {
  readonly owner?: Owner | undefined;
  readonly mode?: number | undefined;
  readonly timestampNs?: bigint | undefined;
}

/**
 * Extracts `srcHost` (a host path already resolved in its root) into `dest` inside `dstRoot`, when it
 * is an archive. Returns false, having done nothing, when it is not.
 */
export async function unpackIfArchive(
  srcHost: string,
  dstRoot: string,
  dest: string,
  opts: UnpackOptions,
  signal: AbortSignal,
): Promise<boolean> {
  if (!(await isArchiveFile(srcHost, signal))) return false;
  const destHost = await resolveInRoot(dstRoot, cleanPath(`/${dest}`));
  await mkdirAll(destHost, 0o755, opts.owner, opts.timestampNs);
  await using file = await openDecompressed(srcHost, signal);
  await extractTar(file.stream, destHost, { owner: opts.owner, mode: opts.mode }, signal);
  await file.finished();
  return true;
}
