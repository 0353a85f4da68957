import { formatPlatform, type Platform } from '../../../client/llb/platform.js';
import { image as imageSource, normalizeImageRef } from '../../../client/llb/source-op.js';
import { State } from '../../../client/llb/state.js';
import { InvalidArgumentError, KilnError } from '../../../proto/errors.js';
import {
  emptyImageName,
  messageOf,
  prefixCommand,
  type StageState,
  UnsupportedInstructionError,
} from './dispatch-state.js';
import { type ImageConfig, parseImageConfig } from './image-config.js';

// FROM <image> (and --from images): ResolveImageConfig, then a SourceOp pinned to the digest.

export type ImageResolveMode = 'default' | 'pull' | 'local';

/** LLBBridge.ResolveImageConfig as the converter needs it: manifest digest + config JSON. */
export type ImageConfigResolver = (
  ref: string,
  opts: { readonly platform: Platform; readonly resolveMode: ImageResolveMode },
  signal: AbortSignal,
) => Promise<{ readonly digest: string; readonly config: Uint8Array }>;

/** A base image as the registry described it. */
export interface ResolvedImage {
  readonly digest: string;
  readonly config: Uint8Array;
}

export function imageKey(ref: string, platform: Platform): string {
  return `${ref} ${formatPlatform(platform)}`;
}

export function needsImage(ds: StageState): boolean {
  return !ds.base && !ds.namedContext && ds.stage.baseName.toLowerCase() !== emptyImageName;
}

/** ResolveImageConfig once per distinct (image, platform) the build needs, all at once. */
export async function resolveImages(
  stages: readonly StageState[],
  reachable: ReadonlySet<StageState>,
  opts: { readonly resolveImage?: ImageConfigResolver; readonly imageResolveMode?: ImageResolveMode },
  signal: AbortSignal,
): Promise<Map<string, ResolvedImage>> {
  const wanted = new Map<string, StageState>();
  for (const ds of stages) {
    if (!reachable.has(ds) || !needsImage(ds)) continue;
    const key = imageKey(ds.stage.baseName, ds.platform);
    if (!wanted.has(key)) wanted.set(key, ds);
  }
  const out = new Map<string, ResolvedImage>();
  if (wanted.size === 0) return out;
  const resolver = opts.resolveImage;
  await Promise.all(
    [...wanted].map(async ([key, ds]) => {
      const orig = ds.stage.baseName;
      const what = ds.unregistered ? orig : `FROM ${orig}`;
      const location = ds.stage.location;
      if (!resolver) {
        throw new UnsupportedInstructionError(`${what}: registry images are not supported here`, location);
      }
      let ref: string;
      try {
        ref = normalizeImageRef(orig);
      } catch (err) {
        throw new InvalidArgumentError(
          `${location.file}:${location.line}: ${what}: failed to parse stage name "${orig}": ${messageOf(err)}`,
          { cause: err, location },
        );
      }
      try {
        out.set(
          key,
          await resolver(
            ref,
            { platform: ds.platform, resolveMode: opts.imageResolveMode ?? 'default' },
            signal,
          ),
        );
      } catch (err) {
        if (signal.aborted) throw err;
        const message = `${location.file}:${location.line}: ${what}: ${messageOf(err)}`;
        if (err instanceof KilnError) {
          const wrapped = new KilnError(err.code, message, { cause: err, location });
          wrapped.name = err.name;
          throw wrapped;
        }
        throw new InvalidArgumentError(message, { cause: err, location });
      }
    }),
  );
  return out;
}

/** FROM <image>: the source op pinned to the resolved digest, the config seeds the stage. */
export function lowerBaseImage(
  ds: StageState,
  resolved: ResolvedImage,
  opts: { readonly imageResolveMode?: ImageResolveMode },
): void {
  const location = ds.stage.location;
  let img: ImageConfig;
  try {
    img = parseImageConfig(resolved.config, ds.platform);
  } catch (err) {
    throw new InvalidArgumentError(`${location.file}:${location.line}: ${messageOf(err)}`, {
      cause: err,
      location,
    });
  }
  const named = normalizeImageRef(ds.stage.baseName);
  const at = named.indexOf('@');
  const pinned = `${at < 0 ? named : named.slice(0, at)}@${resolved.digest}`;
  ds.image = img;
  // An image without layers is scratch (schema1 images report none, so history decides too).
  const isScratch = img.rootfs.diff_ids.length === 0 && img.history.every((h) => h.empty_layer === true);
  if (isScratch) {
    ds.state = State.scratch().platform(ds.platform);
    return;
  }
  const name = prefixCommand(ds, `FROM ${pinned}`);
  ds.state = imageSource(pinned, {
    platform: ds.platform,
    ...(opts.imageResolveMode && opts.imageResolveMode !== 'default'
      ? { resolveMode: opts.imageResolveMode }
      : {}),
    customName: name,
    description: { 'com.docker.dockerfile.v1.command': ds.stage.original },
    ...(ds.ignoreCache ? { ignoreCache: true } : {}),
  });
}
