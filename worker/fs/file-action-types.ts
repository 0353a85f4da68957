import type { ModeTransform } from './symbolic-mode.js';
/**
 * Typed options for the FileOp actions, parsed once from pb.FileAction* at the ops edge. Paths are
 * in-root paths (as the build sees them); timestamps are nanoseconds since the epoch.
 */

/** Numeric owner; names are resolved by the caller (from the image's /etc/passwd) before this. */
export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

export interface MkdirOptions {
  readonly path: string;
  readonly mode: number;
  readonly makeParents: boolean;
  readonly owner?: Owner | undefined;
  readonly timestampNs?: bigint | undefined;
}

export interface MkfileOptions {
  readonly path: string;
  readonly mode: number;
  readonly data: Uint8Array;
  readonly owner?: Owner | undefined;
  readonly timestampNs?: bigint | undefined;
}

export interface RmOptions {
  readonly path: string;
  readonly allowNotFound: boolean;
  readonly allowWildcard: boolean;
}

export interface CopyOptions {
  readonly src: string;
  readonly dest: string;
  readonly owner?: Owner | undefined;
  /** Permission bits to set on every copied entry; undefined keeps the source's. */
  readonly mode?: number | undefined;
  /** A symbolic `--chmod` (`u+x,go-w`), applied to each entry's own mode; wins over `mode`. */
  readonly chmod?: ModeTransform | undefined;
  readonly followSymlink: boolean;
  readonly dirCopyContents: boolean;
  readonly createDestPath: boolean;
  readonly allowWildcard: boolean;
  readonly allowEmptyWildcard: boolean;
  readonly timestampNs?: bigint | undefined;
  readonly includePatterns: readonly string[];
  readonly excludePatterns: readonly string[];
  /** A file replaces a directory in the way (and a directory a file), as a merge needs. */
  readonly alwaysReplaceExistingDestPaths?: boolean | undefined;
  /**
   * ADD's archive handling (unpack.ts): a source file that is a tar (plain, gzip, bzip2, xz or zstd,
   * told by content) is extracted into dest; anything else is copied as usual.
   */
  readonly attemptUnpack?: boolean | undefined;
}

export interface SymlinkOptions {
  readonly oldpath: string;
  readonly newpath: string;
  readonly owner?: Owner | undefined;
  readonly timestampNs?: bigint | undefined;
}
