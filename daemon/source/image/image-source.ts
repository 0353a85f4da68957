import { createHash } from 'node:crypto';
import { InvalidArgumentError, KilnError, throwIfAborted } from '../../../proto/errors.js';
import type { ContentStore } from '../../../worker/content/types.js';
import { applyLayer } from '../../../worker/fs/layer-apply.js';
import type { FrontendBridge } from '../../../frontends/types.js';
import type { SessionManager } from '../../session/manager.js';
import type { SourceResolver } from '../../solver/ops/op-resolver.js';
import type {
  CacheMap,
  ImmutableRef,
  OpContext,
  RefManager,
  ResolvedOp,
  ResultCache,
} from '../../solver/types.js';
import { type ImageName, parseImageName } from './reference.js';
import {
  type Descriptor,
  type Platform,
  type RegistryAuth,
  type RegistryClient,
  type ResolvedImage,
  anonymousAuth,
} from './registry-client.js';
import { sessionAuth } from './session-auth.js';

/**
 * `docker-image://<ref>`: pulls an image from a registry into a chain of refs, one per layer. Each
 * layer's ref is saved in the result cache under its OCI chain ID, so any image sharing a layer
 * prefix (or a second pull of the same one) reuses those snapshots without downloading again.
 */

export interface ImageSourceDeps {
  readonly refs: RefManager;
  readonly cache: ResultCache;
  readonly store: ContentStore;
  readonly registry: RegistryClient;
  readonly sessions: SessionManager;
  /** Platform pulled when the caller names none; default linux and the host's architecture. */
  readonly defaultPlatform?: Platform;
}

export type ResolveMode = 'default' | 'pull' | 'local';

export const ImageAttrKeys = {
  resolveMode: 'image.resolvemode',
  recordType: 'image.recordtype',
  layerLimit: 'image.layerlimit',
} as const;

export interface ImageSource {
  readonly resolver: SourceResolver;
  /** LLBBridge.ResolveImageConfig; anonymous unless session ids are given for Auth.Credentials. */
  resolveImageConfig(
    ref: string,
    opts: Parameters<FrontendBridge['resolveImageConfig']>[1],
    signal: AbortSignal,
    sessionIds?: readonly string[],
  ): Promise<{ digest: string; config: Uint8Array }>;
}

export class ImageConfigError extends KilnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FAILED_PRECONDITION', message, options);
    this.name = 'ImageConfigError';
  }
}

const sha256 = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

export function hostPlatform(): Platform {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch;
  return { os: 'linux', architecture: arch };
}

/** OCI image spec: ChainID(L0) = DiffID(L0); ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(Ln)). */
export function chainIDs(diffIDs: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIDs) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : sha256(`${prev} ${d}`));
  }
  return out;
}

export function layerChainKey(chainID: string): string {
  return `layer-chain:${chainID}`;
}

function parseIdentifier(identifier: string): ImageName {
  const prefix = 'docker-image://';
  if (!identifier.startsWith(prefix))
    throw new InvalidArgumentError(`invalid docker-image source identifier ${JSON.stringify(identifier)}`);
  return parseImageName(identifier.slice(prefix.length));
}

function parseResolveMode(raw: string | undefined): ResolveMode {
  if (raw === undefined || raw === '' || raw === 'default') return 'default';
  if (raw === 'pull' || raw === 'local') return raw;
  throw new InvalidArgumentError(
    `invalid ${ImageAttrKeys.resolveMode} ${JSON.stringify(raw)}: want default, pull or local`,
  );
}

function diffIDsOf(config: Uint8Array, name: ImageName, layers: number): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(config).toString('utf8'));
  } catch (err) {
    throw new ImageConfigError(`image config of ${name.familiar()} is not valid JSON`, { cause: err });
  }
  const rootfs = typeof doc === 'object' && doc !== null ? (doc as { rootfs?: unknown }).rootfs : undefined;
  const ids =
    typeof rootfs === 'object' && rootfs !== null ? (rootfs as { diff_ids?: unknown }).diff_ids : undefined;
  if (
    !Array.isArray(ids) ||
    !ids.every((d): d is string => typeof d === 'string' && /^sha256:[a-f0-9]{64}$/.test(d))
  )
    throw new ImageConfigError(`image config of ${name.familiar()} has no valid rootfs.diff_ids`);
  if (ids.length !== layers)
    throw new ImageConfigError(
      `image ${name.familiar()}: the manifest has ${layers} layers but the config lists ${ids.length} diff_ids`,
    );
  return ids;
}

export function createImageSource(deps: ImageSourceDeps): ImageSource {
  const platformDefault = deps.defaultPlatform ?? hostPlatform();
  const locks = new Map<string, Promise<unknown>>();

  async function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    locks.set(key, settled);
    try {
      return await run;
    } finally {
      if (locks.get(key) === settled) locks.delete(key);
    }
  }

  function authFor(sessionIds: readonly string[]): RegistryAuth {
    return sessionIds.length === 0 ? anonymousAuth : sessionAuth(deps.sessions, sessionIds);
  }

  async function pull(
    name: ImageName,
    resolved: ResolvedImage,
    ctx: OpContext,
    auth: RegistryAuth,
    recordType: 'regular',
  ): Promise<ImmutableRef> {
    const { signal, progress } = ctx;
    const layers = resolved.manifest.layers;
    const diffIDs = diffIDsOf(resolved.config, name, layers.length);
    const chains = chainIDs(diffIDs);
    const ref = name.familiar();
    if (layers.length === 0) {
      const m = await deps.refs.newMutable(
        undefined,
        { recordType, description: `pulled from ${ref} (empty image)`, share: 'hardlink' },
        signal,
      );
      let committed: ImmutableRef | undefined;
      try {
        committed = await m.commit(signal);
        return committed;
      } finally {
        if (!committed) await m.release();
      }
    }
    // The deepest layer already unpacked: only what is above it needs bytes from the registry.
    let parent: ImmutableRef | undefined;
    let start = 0;
    for (let i = chains.length - 1; i >= 0; i--) {
      const hit = await deps.cache.load(layerChainKey(chains[i] as string), signal);
      if (hit) {
        parent = hit;
        start = i + 1;
        break;
      }
    }
    try {
      const needed = layers.slice(start);
      await using _lease = deps.store.lease(needed.map((l) => l.digest));
      await Promise.all(
        needed.map(async (l: Descriptor) => {
          const id = l.digest;
          progress.status(id, { current: 0, total: l.size });
          await deps.registry.fetchBlob(name, l, deps.store, signal, auth, (current, total) =>
            progress.status(id, { current, total }),
          );
          progress.status(id, { current: l.size, total: l.size, completed: true });
        }),
      );
      for (let i = start; i < layers.length; i++) {
        throwIfAborted(signal);
        const layer = layers[i] as Descriptor;
        const key = layerChainKey(chains[i] as string);
        const below = parent;
        // Two builds pulling images that share a layer unpack it once; the second finds it cached.
        const next = await withLock(key, async () => {
          const reuse = await deps.cache.load(key, signal);
          if (reuse) return reuse;
          const statusId = `extracting ${layer.digest}`;
          progress.status(statusId, {});
          const m = await deps.refs.newMutable(
            below,
            {
              recordType,
              description: `pulled from ${ref} (layer ${i + 1}/${layers.length})`,
              share: 'hardlink',
            },
            signal,
          );
          const diffID = diffIDs[i] as string;
          let committed: ImmutableRef | undefined;
          try {
            const applied = await applyLayer(m.dir, deps.store.read(layer.digest, signal), signal);
            if (applied.diffID !== diffID)
              throw new ImageConfigError(
                `layer ${i + 1}/${layers.length} (${layer.digest}) of ${ref}: uncompressed digest ${applied.diffID} does not match the config's diff_id ${diffID}`,
              );
            committed = await m.commit(signal);
          } finally {
            if (!committed) await m.release();
          }
          try {
            await deps.refs.setLayer(
              committed.id,
              { mediaType: layer.mediaType, digest: layer.digest, size: layer.size, diffID },
              signal,
            );
            await deps.cache.save(key, committed, signal);
          } catch (err) {
            await committed.release();
            throw err;
          }
          progress.status(statusId, { completed: true });
          return committed;
        });
        await parent?.release();
        parent = next;
      }
      const top = parent as ImmutableRef;
      parent = undefined;
      return top;
    } finally {
      await parent?.release();
    }
  }

  return {
    resolver: {
      resolve(identifier, attrs): ResolvedOp {
        const name = parseIdentifier(identifier);
        // default, pull and local all ask the registry for a tag: Kiln keeps no tag → image store
        // to answer 'local' from, and a digest-pinned reference needs no network in any mode.
        parseResolveMode(attrs[ImageAttrKeys.resolveMode]);
        const platform = platformDefault;
        // One resolution per op: cacheMap and exec share it.
        let resolving: Promise<ResolvedImage> | undefined;
        const resolveOnce = (ctx: OpContext, auth: RegistryAuth) => {
          resolving ??= (async () => {
            const id = `resolve ${name.toString()}`;
            ctx.progress.status(id, {});
            const r = await deps.registry.resolve(name, platform, ctx.signal, auth);
            ctx.progress.status(id, { completed: true });
            return r;
          })();
          resolving.catch(() => {
            resolving = undefined;
          });
          return resolving;
        };
        return {
          async cacheMap(ctx: OpContext): Promise<CacheMap> {
            // A digest in the reference pins the content: no network needed for the key.
            const digest = name.digest ?? (await resolveOnce(ctx, authFor(ctx.sessionIds))).digest;
            return { digest: sha256(`docker-image:${digest}`), deps: [] };
          },
          async exec(ctx: OpContext): Promise<ImmutableRef[]> {
            const auth = authFor(ctx.sessionIds);
            const resolved = await resolveOnce(ctx, auth);
            return [await pull(name, resolved, ctx, auth, 'regular')];
          },
        };
      },
    },
    async resolveImageConfig(ref, opts, signal, sessionIds = []) {
      const name = parseImageName(ref);
      const p = opts.platform;
      const platform: Platform = p
        ? { os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) }
        : platformDefault;
      const r = await deps.registry.resolve(name, platform, signal, authFor(sessionIds));
      return { digest: r.digest, config: r.config };
    },
  };
}
