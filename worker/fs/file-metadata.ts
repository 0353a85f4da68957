import { lchown, lutimes } from 'node:fs/promises';
import type { Owner } from './file-action-types.js';

/**
 * Seconds as a float, the form fs.lutimes takes. A double near 1.8e9 s resolves only ~0.24 µs and
 * libuv truncates it to a timespec, so half a microsecond is added to land on the intended
 * microsecond (sub-microsecond precision is lost either way).
 */
export function nsToSeconds(ns: bigint): number {
  return (Number(ns / 1000n) + 0.5) / 1e6;
}

/** Sets atime and mtime of `p` itself (never a symlink's target). */
export async function setTimes(p: string, timestampNs: bigint): Promise<void> {
  const s = nsToSeconds(timestampNs);
  await lutimes(p, s, s);
}

export async function setOwner(p: string, owner: Owner | undefined): Promise<void> {
  if (owner) await lchown(p, owner.uid, owner.gid);
}
