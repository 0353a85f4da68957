import type { ImmutableRef, LayerDescriptor, RecordType, RefManager, ResultCache } from '../solver/types.js';

/** What is persisted per ref under `<root>/metadata` (level, JSON values). */
export interface CacheRecord {
  readonly id: string;
  readonly snapshotId: string;
  readonly parent?: string;
  /** ms since epoch */
  readonly createdAt: number;
  readonly lastUsedAt: number;
  readonly usageCount: number;
  /**
   * Bytes (the snapshotter's usage()), measured on first need by `du` or `prune` rather than at
   * commit, where the walk would sit on the build's critical path; absent until then.
   */
  readonly size?: number;
  readonly description: string;
  readonly recordType: RecordType;
  /** False while a writer owns it; an uncommitted record found at start-up is crash debris. */
  readonly committed: boolean;
  /** Solver cache keys this ref is the result of. */
  readonly cacheKeys: readonly string[];
  /** The layer blob for this ref's diff from its parent, once known. */
  readonly layer?: LayerDescriptor;
}

/** BuildKit's client.UsageRecord (what `buildctl du` shows), field names as on the wire. */
export interface UsageRecord {
  readonly ID: string;
  readonly Mutable: boolean;
  readonly InUse: boolean;
  readonly Size: number;
  readonly CreatedAt: Date;
  readonly LastUsedAt: Date | undefined;
  readonly UsageCount: number;
  readonly Description: string;
  readonly RecordType: RecordType;
  readonly Shared: boolean;
  readonly Parents: readonly string[];
}

export interface PruneOptions {
  /** Also prune `internal` and `frontend` records (buildctl prune --all). */
  readonly all?: boolean;
  /** Only records unused for longer than this are eligible (0/absent: any age). */
  readonly keepDurationMs?: number;
  /** Stop once the total size is at most this (0/absent: prune every eligible record). */
  readonly keepBytes?: number;
  /** BuildKit filter strings, see usage-filter.ts. */
  readonly filter?: readonly string[];
}

/**
 * "The last snapshot of this shared key" (local sources reuse the previous upload of the same
 * context as the base of an incremental sync). An indexed ref stays on disk across restarts but is
 * still prunable whenever nobody holds it; the entry then disappears with it.
 */
export interface SharedKeyIndex {
  getSharedKey(key: string, signal: AbortSignal): Promise<ImmutableRef | undefined>;
  setSharedKey(key: string, ref: ImmutableRef, signal: AbortSignal): Promise<void>;
}

export interface CacheManager extends RefManager, ResultCache, SharedKeyIndex, AsyncDisposable {
  diskUsage(opts: { filter?: readonly string[] }, signal?: AbortSignal): Promise<UsageRecord[]>;
  /** Removes what the options select and nobody holds; reports each removed record. */
  prune(
    opts: PruneOptions,
    onPruned: (record: UsageRecord) => void,
    signal?: AbortSignal,
  ): Promise<UsageRecord[]>;
  close(): Promise<void>;
  /** Digests of every layer blob a record still points at (the content store keeps these). */
  referencedBlobs(): Set<string>;
}
