import { createHash } from 'node:crypto';
import type { ExecOp__Output } from '../../../proto/generated/pb/ExecOp.js';
import type { Platform__Output } from '../../../proto/generated/pb/Platform.js';
import { type ContentHashCache, checksumPath } from '../../../worker/fs/content-hash.js';
import type { CacheDep, CacheMap, ImmutableRef } from '../types.js';
import { stableJson } from './file-op.js';

export const MountTypes = { bind: 0, secret: 1, ssh: 2, cache: 3, tmpfs: 4 } as const;

/**
 * ExecOp cache map (BuildKit solver/llbsolver/ops/exec.go CacheMap): the op without what must not
 * split the cache (proxy settings, host IPs, mount selectors, which are in the deps instead). Root
 * and writable inputs key on the input; read-only binds key on the content they expose.
 */
export function execCacheMap(
  op: ExecOp__Output,
  numInputs: number,
  platform: Platform__Output | null,
  hashCache: ContentHashCache,
): CacheMap {
  const meta = op.meta
    ? {
        ...op.meta,
        proxy_env: null,
        extraHosts: op.meta.extraHosts.map((h) => ({ Host: h.Host, IP: '' })),
      }
    : null;
  const mounts = op.mounts.map((m) => ({ ...m, selector: '' }));
  const digest = `sha256:${createHash('sha256')
    .update(
      stableJson({
        Type: 'exec',
        Exec: { ...op, meta, mounts },
        OS: platform?.OS || 'linux',
        Arch: platform?.Architecture || goArch(process.arch),
        Variant: platform?.Variant ?? '',
      }),
    )
    .digest('hex')}`;
  const deps: CacheDep[] = [];
  for (let i = 0; i < numInputs; i++) {
    const users = op.mounts.filter((m) => Number(m.input) === i);
    const selectors = users.map((m) => m.selector);
    const contentOnly =
      users.length > 0 &&
      users.every(
        (m) => m.dest !== '/' && m.readonly && Number(m.output) < 0 && m.mountType === MountTypes.bind,
      );
    const named = selectors.filter((s) => s !== '');
    const selector = named.length > 0 ? named.join('\0') : undefined;
    if (!contentOnly) {
      deps.push(selector === undefined ? {} : { selector });
      continue;
    }
    deps.push({
      selector: selectors.join('\0'),
      contentKey: async (input: ImmutableRef, signal: AbortSignal) => {
        const memo = hashCache.memo(input.snapshot.id);
        const sums: string[] = [];
        for (const sel of selectors) {
          sums.push(await checksumPath(input.snapshot.dir, sel || '/', { followLinks: true }, signal, memo));
        }
        return sums.length === 1
          ? (sums[0] as string)
          : `sha256:${createHash('sha256').update(sums.join('\0')).digest('hex')}`;
      },
    });
  }
  return { digest, deps };
}

export function goArch(nodeArch: string): string {
  switch (nodeArch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return '386';
    default:
      return nodeArch;
  }
}
