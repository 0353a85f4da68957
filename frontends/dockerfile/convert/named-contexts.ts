import { formatPlatform, type Platform } from '../../../client/llb/platform.js';
import { normalizeImageRef } from '../../../client/llb/source-op.js';
import { InvalidArgumentError, UnimplementedError } from '../../../proto/errors.js';

// `--opt context:<name>=<source>` (dockerui/namedcontext.go): a name used by FROM, COPY --from or
// RUN --mount from= that is replaced by another source.

/** Where a named context comes from, parsed once at the edge. */
export type NamedContextSource =
  | { readonly kind: 'image'; readonly ref: string }
  | { readonly kind: 'scratch' }
  | { readonly kind: 'local'; readonly localName: string }
  /** Another stage of the same Dockerfile (what `buildx bake` calls `target:`). */
  | { readonly kind: 'target'; readonly stage: string };

export interface NamedContext {
  /** The key as given after `context:` (may carry `::<platform>`). */
  readonly key: string;
  readonly source: NamedContextSource;
}

/** Named contexts by key (`name` or `name::os/arch`). */
export type NamedContexts = ReadonlyMap<string, NamedContext>;

const contextPrefix = 'context:';

/** Reads every `context:<name>=<value>` opt; unknown or malformed sources are refused here. */
export function parseNamedContexts(opts: Readonly<Record<string, string>>): NamedContexts {
  const out = new Map<string, NamedContext>();
  for (const [k, v] of Object.entries(opts)) {
    if (!k.startsWith(contextPrefix)) continue;
    const key = k.slice(contextPrefix.length);
    if (key === '')
      throw new InvalidArgumentError(`invalid named context opt ${JSON.stringify(k)}: empty name`);
    out.set(key, { key, source: parseSource(key, v) });
  }
  return out;
}

function parseSource(key: string, value: string): NamedContextSource {
  const colon = value.indexOf(':');
  let scheme = colon < 0 ? '' : value.slice(0, colon);
  const rest = colon < 0 ? '' : value.slice(colon + 1);
  if (value.startsWith('git@')) scheme = 'git';
  switch (scheme) {
    case 'docker-image': {
      const ref = rest.replace(/^\/\//, '');
      if (ref === 'scratch') return { kind: 'scratch' };
      try {
        normalizeImageRef(ref);
      } catch (err) {
        throw new InvalidArgumentError(
          `invalid context specifier ${value} for ${key}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      return { kind: 'image', ref };
    }
    case 'local':
      if (rest === '') throw new InvalidArgumentError(`invalid context specifier ${value} for ${key}`);
      return { kind: 'local', localName: rest };
    case 'target':
      if (rest === '') throw new InvalidArgumentError(`invalid context specifier ${value} for ${key}`);
      return { kind: 'target', stage: rest.toLowerCase() };
    case 'git':
    case 'http':
    case 'https':
    case 'oci-layout':
    case 'input':
      throw new UnimplementedError(`named context ${key}: ${scheme} sources are not supported by kilnd yet`);
    case '':
      throw new InvalidArgumentError(`invalid context specifier ${value} for ${key}`);
    default:
      throw new InvalidArgumentError(`unsupported context source ${scheme} for ${key}`);
  }
}

/**
 * The name BuildKit looks a reference up by: the familiar form without `:latest`
 * (`docker.io/library/alpine:latest` → `alpine`). Names that are no image reference stay as written.
 */
export function contextLookupName(name: string): string {
  let normalized: string;
  try {
    normalized = normalizeImageRef(name);
  } catch {
    return name;
  }
  let familiar = normalized;
  if (familiar.startsWith('docker.io/library/')) familiar = familiar.slice('docker.io/library/'.length);
  else if (familiar.startsWith('docker.io/')) familiar = familiar.slice('docker.io/'.length);
  if (familiar.endsWith(':latest')) familiar = familiar.slice(0, -':latest'.length);
  return familiar;
}

/** `name::<platform>` first, then `name` (NamedContext in dockerui/context.go). */
export function findNamedContext(
  contexts: NamedContexts | undefined,
  name: string,
  platform: Platform,
): NamedContext | undefined {
  if (!contexts || contexts.size === 0) return undefined;
  const lookup = contextLookupName(name);
  return contexts.get(`${lookup}::${formatPlatform(platform)}`) ?? contexts.get(lookup);
}
