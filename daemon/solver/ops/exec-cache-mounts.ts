import { createHash } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { CanceledError, throwIfAborted } from '../../../proto/errors.js';

/** `CacheOpt.sharing` (pb.CacheSharingOpt). */
export type CacheSharing = 'shared' | 'private' | 'locked';

export interface CacheMountLease extends AsyncDisposable {
  /** Host directory to bind at the mount's destination. */
  readonly dir: string;
  /** True when the directory was created by this lease (empty, so a `from` input may seed it). */
  readonly created: boolean;
  release(): Promise<void>;
}

interface Slot {
  readonly dir: string;
  users: number;
  exclusive: boolean;
  readonly waiters: (() => void)[];
}

/**
 * `RUN --mount=type=cache` directories: `<root>/<sha256(id)>[.n]`, kept across builds and daemon
 * restarts. `shared` lets steps use one directory together, `locked` runs them one at a time,
 * `private` gives a busy id another directory (BuildKit solver/llbsolver/mounts/mount.go).
 */
export class CacheMountManager {
  private readonly root: string;
  private readonly slots = new Map<string, Slot>();

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** Directory names on disk (one per id, plus private extras). */
  async list(): Promise<string[]> {
    try {
      return (await readdir(this.root)).sort();
    } catch {
      return [];
    }
  }

  async acquire(id: string, sharing: CacheSharing, signal: AbortSignal): Promise<CacheMountLease> {
    throwIfAborted(signal);
    const base = createHash('sha256').update(id).digest('hex');
    if (sharing === 'private') {
      for (let n = 0; ; n++) {
        const name = n === 0 ? base : `${base}.${n}`;
        const slot = this.slot(name);
        if (slot.users === 0) return this.enter(slot, false);
      }
    }
    const slot = this.slot(base);
    const exclusive = sharing === 'locked';
    while (slot.exclusive || (exclusive && slot.users > 0)) await this.wait(slot, signal);
    return this.enter(slot, exclusive);
  }

  private slot(name: string): Slot {
    let s = this.slots.get(name);
    if (!s) {
      s = { dir: path.join(this.root, name), users: 0, exclusive: false, waiters: [] };
      this.slots.set(name, s);
    }
    return s;
  }

  private wait(slot: Slot, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = slot.waiters.indexOf(wake);
        if (i >= 0) slot.waiters.splice(i, 1);
        const reason: unknown = signal.reason;
        reject(reason instanceof Error ? reason : new CanceledError(`canceled: ${String(reason)}`));
      };
      slot.waiters.push(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async enter(slot: Slot, exclusive: boolean): Promise<CacheMountLease> {
    // Claim synchronously so a concurrent acquire sees the slot busy before any await.
    slot.users++;
    slot.exclusive = exclusive;
    let created: boolean;
    try {
      await mkdir(this.root, { recursive: true, mode: 0o700 });
      created = (await mkdir(slot.dir, { mode: 0o755 }).then(
        () => true,
        (err: unknown) => {
          if ((err as { code?: unknown }).code === 'EEXIST') return false;
          throw err;
        },
      )) as boolean;
    } catch (err) {
      this.leave(slot);
      throw err;
    }
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        this.leave(slot);
      }
      return Promise.resolve();
    };
    return { dir: slot.dir, created, release, [Symbol.asyncDispose]: release };
  }

  private leave(slot: Slot): void {
    slot.users--;
    if (slot.users === 0) slot.exclusive = false;
    // Wake everyone; each re-checks its own condition.
    for (const w of slot.waiters.splice(0)) w();
  }
}
