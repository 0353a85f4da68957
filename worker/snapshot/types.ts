/**
 * Snapshots are directory trees on disk. An immutable snapshot is never written again once
 * committed (children copy or hardlink from it but never change its files in place); a mutable one
 * belongs to exactly one writer until it is committed or discarded.
 */
export interface SnapshotInfo {
  /** Stable id, also the directory name under the snapshotter's root. */
  readonly id: string;
  /** Absolute path of the snapshot's root directory (what `/` means inside the build). */
  readonly dir: string;
}

export interface MutableSnapshot extends SnapshotInfo, AsyncDisposable {
  /** Seals the tree; the returned snapshot is read-only from now on. */
  commit(signal: AbortSignal): Promise<SnapshotInfo>;
  /** Throws the tree away (also what asyncDispose does when it was not committed). */
  discard(): Promise<void>;
}

export interface Snapshotter {
  readonly name: 'native' | 'overlayfs';
  /**
   * A new writable tree that starts as a copy of `parent` (empty when parent is undefined).
   * `share: 'hardlink'` links the parent's regular files instead of copying them: cheap, and safe only
   * for writers that never modify an existing file in place (they unlink and write a new file, and
   * never chmod/chown/utimes a file they did not create). Kiln's own file ops and the file-sync
   * receiver follow that rule; RUN does not, so it gets 'copy' (or overlay).
   */
  prepare(
    parent: SnapshotInfo | undefined,
    signal: AbortSignal,
    opts?: { share?: 'copy' | 'hardlink' },
  ): Promise<MutableSnapshot>;
  /** Re-open a committed snapshot after a daemon restart. */
  get(id: string): Promise<SnapshotInfo | undefined>;
  remove(id: string): Promise<void>;
  /** Bytes used by the snapshot's own files. */
  usage(id: string): Promise<number>;
  /** Ids of every snapshot on disk, so start-up can remove ones no record points at. */
  list(): Promise<string[]>;
}
