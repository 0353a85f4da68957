import path from 'node:path';
import type { TarJob } from './tar-thread.js';
import type { LeasedChunk } from '../leased-chunk.js';
import { produceTar, produceTarLeased } from './tar-producer.js';

/**
 * Streams `dir` as a deterministic tar: entries in byte order of their paths (parents first),
 * names relative without `./`, directories with a trailing `/`, owner ids, permission and special
 * bits, mtimes (whole seconds), symlinks, and hard links (the second path of an inode is a link
 * entry to the first); PAX headers for what ustar cannot hold (long names), as tar-header.ts writes
 * them. The walk, the reads and the encoding run on a producer thread (tar-producer.ts), a few
 * 1 MiB chunks ahead of the consumer at most.
 */
export function tarDirectory(dir: string, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  return produceTar(dirJob(dir), signal);
}

/**
 * tarDirectory's archive in chunks of a ring of shared buffers the producer reuses
 * (produceTarLeased): release each chunk once its bytes are sent or copied.
 */
export function tarDirectoryLeased(dir: string, signal: AbortSignal): AsyncGenerator<LeasedChunk> {
  return produceTarLeased(dirJob(dir), signal);
}

function dirJob(dir: string): TarJob {
  return { kind: 'dir', root: path.resolve(dir) };
}
