import { createHash } from 'node:crypto';
import { type ContentHashCache, fileMemoKey } from '../../worker/fs/content-hash.js';
import type { ReceiveDigests } from '../../worker/fs/fsutil-receive.js';
import { InvalidArgumentError, NotFoundError, throwIfAborted } from '../../proto/errors.js';
import { FileSyncMethods, fetchLocalDir } from '../session/filesync.js';
import type { SessionManager } from '../session/manager.js';
import type { Session } from '../session/session.js';
import type { CacheMap, ImmutableRef, OpContext, RefManager, ResolvedOp } from '../solver/types.js';

/**
 * `local://<name>`: a directory on the client, pulled through the session's FileSync. The snapshot
 * of the previous sync for the same shared key is reused (hardlinked), so only changed files move.
 */

/** sharedKey → id of the last committed ref for it; the cache layer backs it with level. */
export interface LocalSourceIndex {
  get(sharedKey: string): Promise<string | undefined>;
  set(sharedKey: string, refId: string): Promise<void>;
}

export interface LocalSourceDeps {
  readonly sessions: SessionManager;
  readonly refs: RefManager;
  readonly index: LocalSourceIndex;
  /**
   * Content checksums of snapshots: the digests of the files a sync writes are computed as they
   * arrive and stored for the new snapshot, so COPY's cache key does not read them all back.
   */
  readonly hashCache?: ContentHashCache;
  /** How long to wait for a session to show up; default 5 s (BuildKit). */
  readonly sessionTimeoutMs?: number;
}

/** LLB attrs of a local source, parsed once. */
export interface LocalAttrs {
  readonly name: string;
  readonly sessionId: string | undefined;
  readonly sharedKeyHint: string;
  readonly includePatterns: readonly string[];
  readonly excludePatterns: readonly string[];
  readonly followPaths: readonly string[];
}

export const LocalAttrKeys = {
  session: 'local.session',
  sharedKeyHint: 'local.sharedkeyhint',
  unique: 'local.unique',
  include: 'local.includepattern',
  exclude: 'local.excludepatterns',
  followPaths: 'local.followpaths',
} as const;

function jsonList(attrs: Readonly<Record<string, string>>, key: string): string[] {
  const raw = attrs[key];
  if (raw === undefined || raw === '') return [];
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new InvalidArgumentError(`invalid ${key} attribute: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new InvalidArgumentError(`invalid ${key} attribute: want a JSON array of strings`);
  }
  return v as string[];
}

export function parseLocalAttrs(identifier: string, attrs: Readonly<Record<string, string>>): LocalAttrs {
  const prefix = 'local://';
  if (!identifier.startsWith(prefix) || identifier.length === prefix.length) {
    throw new InvalidArgumentError(`invalid local source identifier ${JSON.stringify(identifier)}`);
  }
  const name = identifier.slice(prefix.length);
  const sessionId = attrs[LocalAttrKeys.session];
  return {
    name,
    sessionId: sessionId === undefined || sessionId === '' ? undefined : sessionId,
    sharedKeyHint: attrs[LocalAttrKeys.sharedKeyHint] ?? '',
    includePatterns: jsonList(attrs, LocalAttrKeys.include),
    excludePatterns: jsonList(attrs, LocalAttrKeys.exclude),
    followPaths: jsonList(attrs, LocalAttrKeys.followPaths),
  };
}

const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');

/** BuildKit's local cache key: unique per session, so it never matches across sessions. */
export function localCacheDigest(a: LocalAttrs, sessionId: string): string {
  const inner = sha256Hex(
    JSON.stringify({
      SessionID: sessionId,
      IncludePatterns: a.includePatterns,
      ExcludePatterns: a.excludePatterns,
      FollowPaths: a.followPaths,
    }),
  );
  return `random:${sha256Hex(`source:session:${a.name}:${inner}`)}`;
}

export interface LocalSource {
  resolve(identifier: string, attrs: Readonly<Record<string, string>>): ResolvedOp;
}

export function createLocalSource(deps: LocalSourceDeps): LocalSource {
  // One sync at a time per shared key: two builds must not both extend the same previous snapshot.
  const locks = new Map<string, Promise<void>>();
  const timeoutMs = deps.sessionTimeoutMs ?? 5000;

  async function findSession(a: LocalAttrs, ctx: OpContext): Promise<Session> {
    if (a.sessionId !== undefined) return deps.sessions.get(a.sessionId, { signal: ctx.signal, timeoutMs });
    let lastErr: unknown;
    for (const id of ctx.sessionIds) {
      try {
        const s = await deps.sessions.get(id, { signal: ctx.signal, timeoutMs });
        if (s.supports(FileSyncMethods.syncDiffCopy)) return s;
      } catch (err) {
        throwIfAborted(ctx.signal);
        lastErr = err;
      }
    }
    throw new NotFoundError(`local source ${a.name}: no active session with local sources`, {
      cause: lastErr,
    });
  }

  async function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const chained = prev.then(() => mine);
    locks.set(key, chained);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (locks.get(key) === chained) locks.delete(key);
    }
  }

  async function sync(a: LocalAttrs, ctx: OpContext): Promise<ImmutableRef> {
    const session = await findSession(a, ctx);
    const sharedKey = `${a.name}:${a.sharedKeyHint}:${session.sharedKey}`;
    return withLock(sharedKey, async () => {
      const prevId = await deps.index.get(sharedKey);
      const prev = prevId === undefined ? undefined : await deps.refs.get(prevId);
      try {
        const mutable = await deps.refs.newMutable(
          prev,
          { recordType: 'source.local', description: `local source for ${a.name}`, share: 'hardlink' },
          ctx.signal,
        );
        const statusId = `transferring ${a.name}:`;
        const prevMemo = prev === undefined ? undefined : deps.hashCache?.peek(prev.snapshot.id);
        const fileDigests = new Map<string, string>();
        const digests: ReceiveDigests = {
          set: (rel, digest) => fileDigests.set(fileMemoKey(rel), digest),
          previous: (rel) => prevMemo?.get(fileMemoKey(rel)),
        };
        let committed: ImmutableRef | undefined;
        try {
          const result = await fetchLocalDir(
            session,
            {
              name: a.name,
              dest: mutable.dir,
              includePatterns: a.includePatterns,
              excludePatterns: a.excludePatterns,
              followPaths: a.followPaths,
              onProgress: (bytes) => ctx.progress.status(statusId, { current: bytes }),
              ...(deps.hashCache ? { digests } : {}),
            },
            AbortSignal.any([ctx.signal, session.signal]),
          );
          ctx.progress.status(statusId, { current: result.bytes, completed: true });
          committed = await mutable.commit(ctx.signal);
          // The collected map becomes the snapshot's table (no copy of 20,000 entries); not used after.
          deps.hashCache?.adopt(committed.snapshot.id, fileDigests);
        } finally {
          if (committed === undefined) await mutable.release();
        }
        await deps.index.set(sharedKey, committed.id);
        return committed;
      } finally {
        await prev?.release();
      }
    });
  }

  return {
    resolve(identifier, attrs) {
      const a = parseLocalAttrs(identifier, attrs);
      return {
        async cacheMap(ctx: OpContext): Promise<CacheMap> {
          const sessionId = a.sessionId ?? ctx.sessionIds[0] ?? '';
          return { digest: localCacheDigest(a, sessionId), deps: [] };
        },
        async exec(ctx: OpContext): Promise<ImmutableRef[]> {
          return [await sync(a, ctx)];
        },
      };
    },
  };
}
