import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../proto/errors.js';
import type { CacheOptionsEntry } from './commands/build-options.js';

/** The wire CacheOptions plus the frontend attribute BuildKit derives from the imports. */
export interface ResolvedCacheOptions {
  readonly exports: CacheOptionsEntry[];
  readonly imports: CacheOptionsEntry[];
  /** `cache-imports`: JSON `[{"Type":…,"Attrs":{…}}]`, read by the Dockerfile frontend. */
  readonly frontendAttrs: Record<string, string>;
  readonly warnings: string[];
}

const refNameAnnotation = 'org.opencontainers.image.ref.name';

interface OciIndex {
  manifests?: { digest?: string; annotations?: Record<string, string> }[];
}

/** The digest tagged `tag` in an OCI layout's index.json, if any. */
export async function digestForTag(dir: string, tag: string): Promise<string | undefined> {
  const raw = await readFile(join(dir, 'index.json'), 'utf8');
  const index = JSON.parse(raw) as OciIndex;
  for (const m of index.manifests ?? []) {
    if (m.annotations?.[refNameAnnotation] === tag && m.digest !== undefined) return m.digest;
  }
  return undefined;
}

function sortedAttrs(attrs: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(attrs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Validates cache entries and does the client-side part BuildKit's client does: local imports get
 * their `digest` from `<src>/index.json` (tag `latest` unless `tag=` is given); an unreadable local
 * cache is skipped with a warning rather than failing the build.
 */
export async function resolveCacheOptions(
  exports: readonly CacheOptionsEntry[],
  imports: readonly CacheOptionsEntry[],
): Promise<ResolvedCacheOptions> {
  const warnings: string[] = [];
  const outExports: CacheOptionsEntry[] = [];
  for (const ex of exports) {
    if (ex.type === 'local' && (ex.attrs.dest ?? '') === '')
      throw new InvalidArgumentError('local cache exporter requires dest');
    if (ex.type === 'registry' && (ex.attrs.ref ?? '') === '')
      throw new InvalidArgumentError('registry cache exporter requires ref');
    outExports.push({ type: ex.type, attrs: { ...ex.attrs } });
  }
  const outImports: CacheOptionsEntry[] = [];
  for (const im of imports) {
    const attrs = { ...im.attrs };
    if (im.type === 'local') {
      const src = attrs.src ?? '';
      if (src === '') throw new InvalidArgumentError('local cache importer requires src');
      if ((attrs.digest ?? '') === '') {
        try {
          const digest = await digestForTag(src, attrs.tag ?? 'latest');
          if (digest !== undefined) attrs.digest = digest;
        } catch (err) {
          warnings.push(`local cache import at ${src} not found due to err: ${(err as Error).message}`);
          continue;
        }
      }
      if ((attrs.digest ?? '') === '') {
        throw new InvalidArgumentError(
          'local cache importer requires either explicit digest, "latest" tag or custom tag on index.json',
        );
      }
    }
    if (im.type === 'registry' && (attrs.ref ?? '') === '')
      throw new InvalidArgumentError('registry cache importer requires ref');
    outImports.push({ type: im.type, attrs });
  }
  const frontendAttrs: Record<string, string> = {};
  if (outImports.length > 0) {
    frontendAttrs['cache-imports'] = JSON.stringify(
      outImports.map((i) => ({ Type: i.type, Attrs: sortedAttrs(i.attrs) })),
    );
  }
  return { exports: outExports, imports: outImports, frontendAttrs, warnings };
}
