import type { SnapshotInfo } from '../../worker/snapshot/types.js';

/**
 * The solver's view of the world. It knows vertices, edges, cache keys and refs; it does not know
 * what an op does (ops/ does) nor where snapshots live (cache/ and worker/ do).
 */

/** A reference to an immutable snapshot held by someone; release it exactly once. */
export interface ImmutableRef extends AsyncDisposable {
  readonly id: string;
  readonly snapshot: SnapshotInfo;
  /** Another handle on the same snapshot (the record stays alive until every handle is released). */
  clone(): ImmutableRef;
  release(): Promise<void>;
}

export type RecordType =
  'internal' | 'frontend' | 'source.local' | 'source.git.checkout' | 'exec.cachemount' | 'regular';

export interface NewRefOptions {
  readonly description: string;
  readonly recordType: RecordType;
  /** See Snapshotter.prepare: 'hardlink' only for writers that replace files instead of editing them. */
  readonly share?: 'copy' | 'hardlink';
}

export interface MutableRef extends AsyncDisposable {
  readonly id: string;
  /** Directory to write into. */
  readonly dir: string;
  commit(signal: AbortSignal): Promise<ImmutableRef>;
  release(): Promise<void>;
}

/**
 * The compressed tar (image layer) that turns a ref's parent into the ref: pulled from a registry
 * or made by the differ at export time, then remembered so it is not made (or uploaded) again.
 */
export interface LayerDescriptor {
  readonly mediaType: string;
  /** Digest of the blob as stored (compressed). */
  readonly digest: string;
  readonly size: number;
  /** Digest of the uncompressed tar (the image config's rootfs.diff_ids entry). */
  readonly diffID: string;
  /** Set when the exporter made the blob by diffing snapshots (not pulled from a registry). */
  readonly diffed?: boolean;
  /** SOURCE_DATE_EPOCH (seconds) the entries' mtimes were clamped to, when they were. */
  readonly clampedTo?: number;
}

/** Creates and finds refs; backed by level under --root (daemon/cache implements it). */
export interface RefManager {
  newMutable(parent: ImmutableRef | undefined, opts: NewRefOptions, signal: AbortSignal): Promise<MutableRef>;
  /** A committed ref by id, or undefined when it was pruned. */
  get(id: string): Promise<ImmutableRef | undefined>;
  /**
   * The ref this one was prepared from (a new handle), or undefined for a base or when the parent
   * was pruned. Walking parents gives a ref's layer chain.
   */
  parentOf(ref: ImmutableRef): Promise<ImmutableRef | undefined>;
  /** The layer blob recorded for the ref's diff from its parent, if one was made or pulled. */
  getLayer(refId: string): LayerDescriptor | undefined;
  setLayer(refId: string, layer: LayerDescriptor, signal: AbortSignal): Promise<void>;
}

/** Cache-key → result records, persistent across restarts. */
export interface ResultCache {
  /** The ref saved under this key, with a new handle, or undefined. */
  load(key: string, signal: AbortSignal): Promise<ImmutableRef | undefined>;
  save(key: string, ref: ImmutableRef, signal: AbortSignal): Promise<void>;
}

/** A dependency of an op, as the op describes it for cache keys. */
export interface CacheDep {
  /** Narrows what the op reads from this input (e.g. a copy source path); part of the key. */
  readonly selector?: string;
  /**
   * When set, the key uses the content checksum of what the op reads from the input instead of the
   * input's own key, so an input that changed elsewhere still hits the cache.
   */
  readonly contentKey?: (input: ImmutableRef, signal: AbortSignal) => Promise<string>;
}

export interface CacheMap {
  /** Digest of the op's definition, independent of its inputs' results. */
  readonly digest: string;
  /** One per input edge, same order as Vertex.inputs. */
  readonly deps: readonly CacheDep[];
}

/** Progress an op reports while it runs (bytes moved, logs). */
export interface OpProgress {
  status(id: string, update: { current?: number; total?: number; completed?: boolean }): void;
  log(stream: 1 | 2, data: Uint8Array): void;
}

export interface OpContext {
  readonly signal: AbortSignal;
  readonly progress: OpProgress;
  /** Session ids of the job(s) that asked for this vertex, tried in order. */
  readonly sessionIds: readonly string[];
}

/** An LLB op bound to a worker: what ops/ provides for each vertex. */
export interface ResolvedOp {
  cacheMap(ctx: OpContext): Promise<CacheMap>;
  /** Runs the op; the inputs are owned by the caller, the outputs by the callee's caller. */
  exec(ctx: OpContext, inputs: readonly ImmutableRef[]): Promise<ImmutableRef[]>;
}

export interface Edge {
  readonly vertex: Vertex;
  readonly index: number;
}

export interface Vertex {
  /** sha256 of the op's exact bytes, `sha256:<hex>`. */
  readonly digest: string;
  readonly name: string;
  readonly inputs: readonly Edge[];
  readonly ignoreCache: boolean;
  /** Opaque to the scheduler; ops/ turns it into a ResolvedOp. */
  readonly op: unknown;
}
