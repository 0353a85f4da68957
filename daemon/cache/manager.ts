import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Level } from 'level';
import { KilnError, NotFoundError, throwIfAborted } from '../../proto/errors.js';
import type { MutableSnapshot, SnapshotInfo, Snapshotter } from '../../worker/snapshot/types.js';
import type { ImmutableRef, LayerDescriptor, MutableRef, NewRefOptions } from '../solver/types.js';
import type { CacheManager, CacheRecord, PruneOptions, UsageRecord } from './types.js';
import { parseUsageFilter } from './usage-filter.js';

export interface CacheManagerOptions {
  /** The daemon's --root; metadata lives in `<root>/metadata`. */
  readonly root: string;
  readonly snapshotter: Snapshotter;
  readonly signal: AbortSignal;
}

type Batch = { type: 'put'; key: string; value: unknown } | { type: 'del'; key: string };

const recordKey = (id: string): string => `r!${id}`;
const sharedKey = (key: string): string => `s!${key}`;
/** How long a lastUsedAt/usageCount update may wait for a batch to ride in. */
const touchFlushMs = 1000;

/**
 * Opens the ref store and repairs what a crash left behind. Every change is ordered so that a crash
 * at any point leaves debris the next open recognises: a snapshot is created before its record and
 * removed after it; an uncommitted record is thrown away (with its snapshot); a record whose snapshot
 * vanished is dropped; a snapshot no record names is removed.
 */
export async function openCacheManager(opts: CacheManagerOptions): Promise<CacheManager> {
  throwIfAborted(opts.signal);
  const db = new Level<string, unknown>(join(opts.root, 'metadata'), { valueEncoding: 'json' });
  await db.open();
  try {
    const records = new Map<string, CacheRecord>();
    const shared = new Map<string, string>();
    for await (const [key, value] of db.iterator()) {
      if (key.startsWith('r!')) records.set(key.slice(2), value as CacheRecord);
      else if (key.startsWith('s!') && typeof value === 'string') shared.set(key.slice(2), value);
    }
    const ops: Batch[] = [];
    const debris: string[] = [];
    const snapshots = new Map<string, SnapshotInfo>();
    for (const record of [...records.values()]) {
      throwIfAborted(opts.signal);
      const info = record.committed ? await opts.snapshotter.get(record.snapshotId) : undefined;
      if (info) {
        snapshots.set(record.id, info);
        continue;
      }
      records.delete(record.id);
      ops.push({ type: 'del', key: recordKey(record.id) });
      debris.push(record.snapshotId);
    }
    for (const [key, id] of [...shared]) {
      if (records.has(id)) continue;
      shared.delete(key);
      ops.push({ type: 'del', key: sharedKey(key) });
    }
    if (ops.length > 0) await db.batch(ops);
    const named = new Set([...records.values()].map((r) => r.snapshotId));
    for (const id of await opts.snapshotter.list()) if (!named.has(id)) debris.push(id);
    for (const id of new Set(debris)) await removeQuietly(opts.snapshotter, id);
    return new LevelCacheManager(db, opts.snapshotter, records, snapshots, shared);
  } catch (err) {
    await db.close();
    throw err;
  }
}

async function removeQuietly(snapshotter: Snapshotter, id: string): Promise<void> {
  try {
    await snapshotter.remove(id);
  } catch {
    // Already gone (or never fully created): nothing left to clean.
  }
}

class LevelCacheManager implements CacheManager {
  readonly #db: Level<string, unknown>;
  readonly #snapshotter: Snapshotter;
  readonly #records: Map<string, CacheRecord>;
  readonly #shared: Map<string, string>;
  /** Committed snapshots by record id (their directories, for handles). */
  readonly #snapshots: Map<string, SnapshotInfo>;
  readonly #byKey = new Map<string, Set<string>>();
  /** Live handles per record id (mutables count as one); in memory only, so a restart frees all. */
  readonly #handles = new Map<string, number>();
  /** Size walks in flight by record id, so concurrent `du`/`prune` calls share one. */
  readonly #measuring = new Map<string, Promise<number>>();
  #writes: Promise<void> = Promise.resolve();
  /**
   * Records whose only change is bookkeeping (lastUsedAt, usageCount): written with the next batch
   * that must land anyway, or by a timer, not awaited on a build's path. A crash loses at most those
   * timestamps, which only order prune.
   */
  readonly #touched = new Set<string>();
  #touchTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    db: Level<string, unknown>,
    snapshotter: Snapshotter,
    records: Map<string, CacheRecord>,
    snapshots: Map<string, SnapshotInfo>,
    shared: Map<string, string>,
  ) {
    this.#db = db;
    this.#snapshots = snapshots;
    this.#snapshotter = snapshotter;
    this.#records = records;
    this.#shared = shared;
    for (const record of records.values()) for (const key of record.cacheKeys) this.#index(key, record.id);
  }

  async newMutable(
    parent: ImmutableRef | undefined,
    opts: NewRefOptions,
    signal: AbortSignal,
  ): Promise<MutableRef> {
    this.#assertOpen();
    const snapshot = await this.#snapshotter.prepare(
      parent?.snapshot,
      signal,
      opts.share === undefined ? undefined : { share: opts.share },
    );
    const now = Date.now();
    const record: CacheRecord = {
      id: newId(),
      snapshotId: snapshot.id,
      ...(parent === undefined ? {} : { parent: parent.id }),
      createdAt: now,
      lastUsedAt: now,
      usageCount: 0,
      description: opts.description,
      recordType: opts.recordType,
      committed: false,
      cacheKeys: [],
    };
    // In memory only until commit: a crash leaves a snapshot no record names, which the next open
    // removes, so persisting the uncommitted record would buy nothing.
    this.#records.set(record.id, record);
    this.#handles.set(record.id, 1);
    return new Mutable(this, record.id, snapshot);
  }

  async get(id: string): Promise<ImmutableRef | undefined> {
    this.#assertOpen();
    const record = this.#records.get(id);
    if (!record?.committed) return undefined;
    return this.#acquire(record);
  }

  async load(key: string, signal: AbortSignal): Promise<ImmutableRef | undefined> {
    this.#assertOpen();
    throwIfAborted(signal);
    let best: CacheRecord | undefined;
    for (const id of this.#byKey.get(key) ?? []) {
      const record = this.#records.get(id);
      if (record?.committed && (!best || record.createdAt > best.createdAt)) best = record;
    }
    if (!best) return undefined;
    const ref = this.#acquire(best);
    this.#touch({ ...best, lastUsedAt: Date.now(), usageCount: best.usageCount + 1 });
    return ref;
  }

  async save(key: string, ref: ImmutableRef, signal: AbortSignal): Promise<void> {
    this.#assertOpen();
    throwIfAborted(signal);
    const record = this.#records.get(ref.id);
    if (!record?.committed) throw new NotFoundError(`cache record ${ref.id} not found`);
    if (record.cacheKeys.includes(key)) return;
    const updated: CacheRecord = { ...record, cacheKeys: [...record.cacheKeys, key] };
    this.#records.set(updated.id, updated);
    this.#index(key, updated.id);
    await this.#write([{ type: 'put', key: recordKey(updated.id), value: updated }]);
  }

  async parentOf(ref: ImmutableRef): Promise<ImmutableRef | undefined> {
    this.#assertOpen();
    const parent = this.#records.get(ref.id)?.parent;
    return parent === undefined ? undefined : this.get(parent);
  }

  getLayer(refId: string): LayerDescriptor | undefined {
    return this.#records.get(refId)?.layer;
  }

  async setLayer(refId: string, layer: LayerDescriptor, signal: AbortSignal): Promise<void> {
    this.#assertOpen();
    throwIfAborted(signal);
    const record = this.#records.get(refId);
    if (!record?.committed) throw new NotFoundError(`cache record ${refId} not found`);
    const updated: CacheRecord = { ...record, layer };
    this.#records.set(updated.id, updated);
    await this.#write([{ type: 'put', key: recordKey(updated.id), value: updated }]);
  }

  referencedBlobs(): Set<string> {
    const out = new Set<string>();
    for (const r of this.#records.values()) if (r.layer) out.add(r.layer.digest);
    return out;
  }

  async getSharedKey(key: string, signal: AbortSignal): Promise<ImmutableRef | undefined> {
    this.#assertOpen();
    throwIfAborted(signal);
    const id = this.#shared.get(key);
    return id === undefined ? undefined : this.get(id);
  }

  async setSharedKey(key: string, ref: ImmutableRef, signal: AbortSignal): Promise<void> {
    this.#assertOpen();
    throwIfAborted(signal);
    if (!this.#records.get(ref.id)?.committed) throw new NotFoundError(`cache record ${ref.id} not found`);
    this.#shared.set(key, ref.id);
    await this.#write([{ type: 'put', key: sharedKey(key), value: ref.id }]);
  }

  async diskUsage(opts: { filter?: readonly string[] }, signal?: AbortSignal): Promise<UsageRecord[]> {
    this.#assertOpen();
    if (signal) throwIfAborted(signal);
    const match = parseUsageFilter(opts.filter);
    // No filter field looks at the size, so only the records shown are measured.
    const shown = [...this.#records.values()].filter((r) => match(this.#usage(r)));
    const out: UsageRecord[] = [];
    for (const record of shown) {
      if (signal) throwIfAborted(signal);
      const size = await this.#size(record);
      out.push({ ...this.#usage(this.#records.get(record.id) ?? record), Size: size });
    }
    return out;
  }

  async prune(
    opts: PruneOptions,
    onPruned: (record: UsageRecord) => void,
    signal?: AbortSignal,
  ): Promise<UsageRecord[]> {
    this.#assertOpen();
    const match = parseUsageFilter(opts.filter);
    const now = Date.now();
    const keepDuration = opts.keepDurationMs ?? 0;
    const eligible = [...this.#records.values()]
      .filter((r) => r.committed && !this.#inUse(r.id))
      .filter((r) => opts.all === true || (r.recordType !== 'internal' && r.recordType !== 'frontend'))
      .filter((r) => keepDuration <= 0 || r.lastUsedAt < now - keepDuration)
      .filter((r) => match(this.#usage(r)))
      .sort((a, b) => a.lastUsedAt - b.lastUsedAt || a.createdAt - b.createdAt);
    const keepBytes = opts.keepBytes ?? 0;
    let total = 0;
    if (keepBytes > 0) {
      for (const r of [...this.#records.values()]) {
        if (signal) throwIfAborted(signal);
        total += await this.#size(r);
      }
    }
    const pruned: UsageRecord[] = [];
    for (const candidate of eligible) {
      if (signal) throwIfAborted(signal);
      if (keepBytes > 0 && total <= keepBytes) break;
      if (!this.#records.has(candidate.id) || this.#inUse(candidate.id)) continue;
      // Measured before removal: the pruned record reports what it freed.
      const size = await this.#size(candidate);
      // Re-check: someone may have taken a handle (or pruned it) while we awaited.
      const record = this.#records.get(candidate.id);
      if (!record || this.#inUse(record.id)) continue;
      const usage: UsageRecord = { ...this.#usage(record), Size: size };
      await this.#remove(record);
      total -= size;
      pruned.push(usage);
      onPruned(usage);
    }
    return pruned;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#touchTimer);
    if (this.#touched.size > 0) void this.#write([]).catch(() => undefined);
    await this.#writes.catch(() => undefined);
    await this.#db.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // --- used by the handle classes below ---

  /**
   * Seals a mutable: the snapshot is committed before the record says so, so a crash between the two
   * is debris. The size is left for `du`/`prune` to measure (#size): walking the tree here would put
   * a whole-snapshot stat pass on every build step.
   */
  async commitMutable(id: string, snapshot: MutableSnapshot, signal: AbortSignal): Promise<ImmutableRef> {
    this.#assertOpen();
    const info = await snapshot.commit(signal);
    const record = this.#records.get(id);
    if (!record) throw new NotFoundError(`cache record ${id} not found`);
    const committed: CacheRecord = {
      ...record,
      snapshotId: info.id,
      committed: true,
      lastUsedAt: Date.now(),
    };
    this.#records.set(id, committed);
    this.#snapshots.set(id, { id: info.id, dir: info.dir });
    await this.#write([{ type: 'put', key: recordKey(id), value: committed }]);
    // The mutable's handle becomes the immutable's.
    return new Handle(this, id, { id: info.id, dir: info.dir });
  }

  /** Drops an uncommitted mutable (never persisted, see newMutable) and its snapshot. */
  async discardMutable(id: string, snapshot: MutableSnapshot): Promise<void> {
    this.#records.delete(id);
    this.#handles.delete(id);
    await snapshot.discard();
  }

  cloneHandle(id: string, snapshot: SnapshotInfo): ImmutableRef {
    this.#handles.set(id, (this.#handles.get(id) ?? 0) + 1);
    return new Handle(this, id, snapshot);
  }

  async releaseHandle(id: string): Promise<void> {
    const count = (this.#handles.get(id) ?? 0) - 1;
    if (count > 0) {
      this.#handles.set(id, count);
      return;
    }
    this.#handles.delete(id);
    const record = this.#records.get(id);
    if (!record || this.#closed) return;
    this.#touch({ ...record, lastUsedAt: Date.now() });
  }

  /** Updates bookkeeping fields in memory; persisted lazily (see #touched). */
  #touch(updated: CacheRecord): void {
    this.#records.set(updated.id, updated);
    if (!updated.committed || this.#closed) return;
    this.#touched.add(updated.id);
    this.#touchTimer ??= setTimeout(() => {
      this.#touchTimer = undefined;
      if (this.#touched.size > 0 && !this.#closed) void this.#write([]).catch(() => undefined);
    }, touchFlushMs).unref();
  }

  #acquire(record: CacheRecord): ImmutableRef {
    const snapshot = this.#snapshots.get(record.id);
    if (!snapshot) throw new NotFoundError(`snapshot of cache record ${record.id} not found`);
    return this.cloneHandle(record.id, snapshot);
  }

  async #remove(record: CacheRecord): Promise<void> {
    const ops: Batch[] = [{ type: 'del', key: recordKey(record.id) }];
    for (const [key, id] of this.#shared) {
      if (id !== record.id) continue;
      this.#shared.delete(key);
      ops.push({ type: 'del', key: sharedKey(key) });
    }
    this.#records.delete(record.id);
    this.#snapshots.delete(record.id);
    for (const key of record.cacheKeys) {
      const ids = this.#byKey.get(key);
      ids?.delete(record.id);
      if (ids?.size === 0) this.#byKey.delete(key);
    }
    await this.#write(ops);
    await this.#snapshotter.remove(record.snapshotId);
  }

  /**
   * A committed record's size: measured once (concurrent callers share the walk), then kept in the
   * record. A mutable one counts 0 until it is committed, as BuildKit shows a ref being written.
   */
  #size(record: CacheRecord): Promise<number> {
    if (!record.committed) return Promise.resolve(0);
    if (record.size !== undefined) return Promise.resolve(record.size);
    let pending = this.#measuring.get(record.id);
    if (!pending) {
      pending = this.#measure(record).finally(() => this.#measuring.delete(record.id));
      this.#measuring.set(record.id, pending);
    }
    return pending;
  }

  async #measure(record: CacheRecord): Promise<number> {
    let size: number;
    try {
      size = await this.#snapshotter.usage(record.snapshotId);
    } catch (err) {
      // Pruned while we walked it: it holds nothing any more.
      if (this.#records.get(record.id)?.snapshotId !== record.snapshotId) return 0;
      throw err;
    }
    const current = this.#records.get(record.id);
    if (current?.snapshotId !== record.snapshotId || current.size !== undefined || this.#closed) return size;
    const sized: CacheRecord = { ...current, size };
    this.#records.set(sized.id, sized);
    await this.#write([{ type: 'put', key: recordKey(sized.id), value: sized }]);
    return size;
  }

  #usage(r: CacheRecord): UsageRecord {
    return {
      ID: r.id,
      Mutable: !r.committed,
      InUse: this.#inUse(r.id),
      Size: r.size ?? 0,
      CreatedAt: new Date(r.createdAt),
      LastUsedAt: r.usageCount > 0 || r.lastUsedAt !== r.createdAt ? new Date(r.lastUsedAt) : undefined,
      UsageCount: r.usageCount,
      Description: r.description,
      RecordType: r.recordType,
      Shared: false,
      Parents: r.parent === undefined ? [] : [r.parent],
    };
  }

  #inUse(id: string): boolean {
    return (this.#handles.get(id) ?? 0) > 0;
  }

  #index(key: string, id: string): void {
    let ids = this.#byKey.get(key);
    if (!ids) {
      ids = new Set();
      this.#byKey.set(key, ids);
    }
    ids.add(id);
  }

  /**
   * Writes are serialised so a later update of a record never lands before an earlier one. Pending
   * touches ride along, read from memory now: a record deleted meanwhile is not written back.
   */
  #write(ops: Batch[]): Promise<void> {
    const batch: Batch[] = [];
    for (const id of this.#touched) {
      const record = this.#records.get(id);
      if (record?.committed) batch.push({ type: 'put', key: recordKey(id), value: record });
    }
    this.#touched.clear();
    batch.push(...ops);
    const next = this.#writes.then(() => this.#db.batch(batch));
    this.#writes = next.catch(() => undefined);
    return next;
  }

  #assertOpen(): void {
    if (this.#closed) throw new KilnError('FAILED_PRECONDITION', 'cache manager is closed');
  }
}

class Handle implements ImmutableRef {
  readonly id: string;
  readonly snapshot: SnapshotInfo;
  readonly #manager: LevelCacheManager;
  #released = false;

  constructor(manager: LevelCacheManager, id: string, snapshot: SnapshotInfo) {
    this.#manager = manager;
    this.id = id;
    this.snapshot = snapshot;
  }

  clone(): ImmutableRef {
    if (this.#released) throw new KilnError('FAILED_PRECONDITION', `ref ${this.id} was already released`);
    return this.#manager.cloneHandle(this.id, this.snapshot);
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.#manager.releaseHandle(this.id);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

class Mutable implements MutableRef {
  readonly id: string;
  readonly dir: string;
  readonly #manager: LevelCacheManager;
  readonly #snapshot: MutableSnapshot;
  #done = false;

  constructor(manager: LevelCacheManager, id: string, snapshot: MutableSnapshot) {
    this.#manager = manager;
    this.id = id;
    this.dir = snapshot.dir;
    this.#snapshot = snapshot;
  }

  async commit(signal: AbortSignal): Promise<ImmutableRef> {
    if (this.#done)
      throw new KilnError('FAILED_PRECONDITION', `mutable ref ${this.id} was already committed or released`);
    const ref = await this.#manager.commitMutable(this.id, this.#snapshot, signal);
    this.#done = true;
    return ref;
  }

  async release(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await this.#manager.discardMutable(this.id, this.#snapshot);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

function newId(): string {
  return randomBytes(12).toString('hex');
}
