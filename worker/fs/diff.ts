import path from 'node:path';
import { produceTar } from './tar-producer.js';

export interface DiffTarOptions {
  /**
   * SOURCE_DATE_EPOCH: entries modified after it are dated at it (BuildKit's rewrite-timestamp),
   * so a rebuild that touches files at another time gives the same bytes.
   */
  readonly clampMtime?: Date;
  /** Called with `sha256:<hex>` of the whole tar (the layer's diffID) once it is complete. */
  readonly onDiffId?: (digest: string) => void;
}

/**
 * A layer: the uncompressed tar that turns `parentDir` (nothing when undefined) into `childDir`.
 * Deterministic: entries in byte order of their paths (parents first), owner ids, permission and
 * special bits, mtimes in whole seconds, no user/group names. Deleted entries become whiteouts (one
 * for a deleted directory, not one per child); a second path of an inode inside the layer becomes a
 * link entry; PAX headers for names ustar cannot hold. The changes are listed (diff-changes.ts) and
 * written on a producer thread (tar-producer.ts), a few 1 MiB chunks ahead of the consumer at most.
 */
export function diffTar(
  parentDir: string | undefined,
  childDir: string,
  signal: AbortSignal,
  options: DiffTarOptions = {},
): AsyncGenerator<Uint8Array> {
  const job = {
    kind: 'diff',
    parent: parentDir === undefined ? undefined : path.resolve(parentDir),
    child: path.resolve(childDir),
    clampMs: options.clampMtime?.getTime(),
  } as const;
  return produceTar(job, signal, options.onDiffId ? { onDigest: options.onDiffId } : {});
}
