import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A temp directory removed on dispose. */
export async function tempDir(prefix = 'kiln-fs-'): Promise<{ path: string } & AsyncDisposable> {
  const p = await mkdtemp(path.join(tmpdir(), prefix));
  return {
    path: p,
    async [Symbol.asyncDispose]() {
      await rm(p, { recursive: true, force: true });
    },
  };
}

export const signal = new AbortController().signal;

export function copyOpts(src: string, dest: string, extra: Record<string, unknown> = {}) {
  return {
    src,
    dest,
    followSymlink: false,
    dirCopyContents: false,
    createDestPath: true,
    allowWildcard: false,
    allowEmptyWildcard: false,
    includePatterns: [] as string[],
    excludePatterns: [] as string[],
    ...extra,
  };
}
