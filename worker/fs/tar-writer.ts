import path from 'node:path';
import { produceTar } from './tar-producer.js';

/**
 * Streams `dir` as a deterministic tar: entries in byte order of their paths (parents first),
 * names relative without `./`, directories with a trailing `/`, owner ids, permission and special
 * bits, mtimes (whole seconds), symlinks, and hard links (the second path of an inode is a link
 * entry to the first); PAX headers for what ustar cannot hold (long names), as tar-header.ts writes
 * them. The walk, the reads and the encoding run on a producer thread (tar-producer.ts), a few
 * 1 MiB chunks ahead of the consumer at most.
 */
export function tarDirectory(dir: string, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  return produceTar({ kind: 'dir', root: path.resolve(dir) }, signal);
}
