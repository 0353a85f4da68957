import { formatPlatform } from '../../../client/llb/platform.js';
import { image as imageSource, local, normalizeImageRef } from '../../../client/llb/source-op.js';
import { State } from '../../../client/llb/state.js';
import { InvalidArgumentError, KilnError } from '../../../proto/errors.js';
import type { ImageConfigResolver, ImageResolveMode } from './base-images.js';
import { messageOf, type StageState } from './dispatch-state.js';
import { emptyImage, type ImageConfig, parseImageConfig } from './image-config.js';
import type { NamedContext } from './named-contexts.js';

// Loading what named contexts point at (dockerui NamedContext.Load), once per build, before dispatch.

/** Reads the `.dockerignore` of a `local:` named context; resolves [] when there is none. */
export type ContextExcludesLoader = (
  context: { readonly key: string; readonly localName: string },
  signal: AbortSignal,
) => Promise<string[]>;

export type LoadedNamedContext =
  | { readonly kind: 'image'; readonly ref: string; readonly digest: string; readonly config: Uint8Array }
  | { readonly kind: 'scratch' }
  | { readonly kind: 'local'; readonly localName: string; readonly excludes: readonly string[] };

export function loadedKey(ds: StageState): string {
  return `${ds.namedContext?.key ?? ''} ${formatPlatform(ds.platform)}`;
}

/** Resolves the named contexts reachable stages use: image configs and local ignore files. */
export async function loadNamedContexts(
  stages: readonly StageState[],
  reachable: ReadonlySet<StageState>,
  opts: {
    readonly resolveImage?: ImageConfigResolver;
    readonly imageResolveMode?: ImageResolveMode;
    readonly loadContextExcludes?: ContextExcludesLoader;
  },
  signal: AbortSignal,
): Promise<Map<string, LoadedNamedContext>> {
  const wanted = new Map<string, { ds: StageState; nc: NamedContext }>();
  for (const ds of stages) {
    if (!reachable.has(ds) || !ds.namedContext) continue;
    const key = loadedKey(ds);
    if (!wanted.has(key)) wanted.set(key, { ds, nc: ds.namedContext });
  }
  const out = new Map<string, LoadedNamedContext>();
  await Promise.all(
    [...wanted].map(async ([key, { ds, nc }]) => {
      const src = nc.source;
      switch (src.kind) {
        case 'scratch':
          out.set(key, { kind: 'scratch' });
          return;
        case 'local': {
          const excludes = opts.loadContextExcludes
            ? await opts.loadContextExcludes({ key: nc.key, localName: src.localName }, signal)
            : [];
          out.set(key, { kind: 'local', localName: src.localName, excludes });
          return;
        }
        case 'image': {
          if (!opts.resolveImage) {
            throw new InvalidArgumentError(`named context ${nc.key}: registry images are not supported here`);
          }
          const ref = normalizeImageRef(src.ref);
          try {
            const resolved = await opts.resolveImage(
              ref,
              { platform: ds.platform, resolveMode: opts.imageResolveMode ?? 'default' },
              signal,
            );
            out.set(key, { kind: 'image', ref, digest: resolved.digest, config: resolved.config });
          } catch (err) {
            if (signal.aborted) throw err;
            const message = `named context ${nc.key}: ${src.ref}: ${messageOf(err)}`;
            if (err instanceof KilnError) {
              const wrapped = new KilnError(err.code, message, { cause: err });
              wrapped.name = err.name;
              throw wrapped;
            }
            throw new InvalidArgumentError(message, { cause: err });
          }
          return;
        }
        case 'target':
          // Resolved to a stage while planning.
          return;
        default: {
          const never: never = src;
          throw new InvalidArgumentError(`unhandled named context ${String(never)}`);
        }
      }
    }),
  );
  return out;
}

/** The stage's state (and, for images, its config) from its named context. */
export function lowerNamedContext(
  ds: StageState,
  loaded: LoadedNamedContext,
  opts: { readonly sessionId?: string; readonly imageResolveMode?: ImageResolveMode },
): void {
  const key = ds.namedContext?.key ?? '';
  switch (loaded.kind) {
    case 'scratch':
      ds.state = State.scratch().platform(ds.platform);
      ds.image = emptyImage(ds.platform);
      return;
    case 'local':
      ds.state = local(loaded.localName, {
        ...(opts.sessionId ? { sessionId: opts.sessionId } : {}),
        sharedKeyHint: `context:${key}-`,
        ...(loaded.excludes.length > 0 ? { excludePatterns: loaded.excludes } : {}),
        customName: `[context ${key}] load from client`,
      }).platform(ds.platform);
      ds.image = emptyImage(ds.platform);
      return;
    case 'image': {
      let img: ImageConfig;
      try {
        img = parseImageConfig(loaded.config, ds.platform);
      } catch (err) {
        throw new InvalidArgumentError(`named context ${key}: ${messageOf(err)}`, { cause: err });
      }
      const at = loaded.ref.indexOf('@');
      const pinned = `${at < 0 ? loaded.ref : loaded.ref.slice(0, at)}@${loaded.digest}`;
      const source = ds.namedContext?.source;
      const shown = source?.kind === 'image' ? source.ref : loaded.ref;
      ds.image = img;
      ds.state = imageSource(pinned, {
        platform: ds.platform,
        ...(opts.imageResolveMode && opts.imageResolveMode !== 'default'
          ? { resolveMode: opts.imageResolveMode }
          : {}),
        customName: `[context ${key}] ${shown}`,
        ...(ds.ignoreCache ? { ignoreCache: true } : {}),
      });
      return;
    }
    default: {
      const never: never = loaded;
      throw new InvalidArgumentError(`unhandled named context ${String(never)}`);
    }
  }
}
