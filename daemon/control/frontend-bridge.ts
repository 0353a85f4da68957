import type { Stats } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { FileStat, FrontendBridge, ResultRef } from '../../frontends/types.js';
import { InvalidArgumentError, NotFoundError } from '../../proto/errors.js';
import { goModeFromUnix } from '../../worker/fs/fsutil-types.js';
import { PatternMatcher } from '../../worker/fs/patternmatcher.js';
import { resolveInRoot } from '../../worker/fs/root-path.js';
import { loadDefinition } from '../solver/llb-loader.js';
import type { Build } from './build.js';

/** Largest file a frontend may read in one call (BuildKit caps ReadFile at the gRPC message size). */
const maxReadBytes = 16 << 20;

/**
 * How the daemon resolves registry images for frontends (the image source provides it); the
 * session ids are asked for registry credentials.
 */
export type ImageConfigResolver = (
  ref: string,
  opts: Parameters<FrontendBridge['resolveImageConfig']>[1],
  signal: AbortSignal,
  sessionIds: readonly string[],
) => ReturnType<FrontendBridge['resolveImageConfig']>;

/** The LLBBridge a frontend gets inside the daemon, scoped to one build. */
export interface BridgeDeps {
  readonly resolveImageConfig: ImageConfigResolver;
  /** What this daemon's worker runs, so the frontend rejects other platforms early. */
  readonly workerPlatforms: readonly { os: string; architecture: string; variant?: string }[];
}

export function createFrontendBridge(
  build: Build,
  { resolveImageConfig, workerPlatforms }: BridgeDeps,
): FrontendBridge {
  const snapshotDir = async (ref: ResultRef, signal: AbortSignal) =>
    (await build.result(ref.id).materialize(signal)).snapshot.dir;
  return {
    sessionId: build.sessionId,
    async solve({ definition }) {
      const edge = loadDefinition({
        def: [...definition.def],
        metadata: { ...definition.metadata } as never,
      });
      return { id: build.addResult(definition, edge).id };
    },
    async readFile(ref, filePath, signal, range) {
      const root = await snapshotDir(ref, signal);
      const host = await resolveInRoot(root, filePath);
      const fh = await open(host, 'r').catch((err: unknown) => {
        throw new NotFoundError(
          `${filePath}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
        );
      });
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw new InvalidArgumentError(`${filePath}: not a regular file`);
        const offset = range?.offset ?? 0;
        const length = Math.min(
          range?.length && range.length > 0 ? range.length : st.size,
          st.size - offset,
          maxReadBytes,
        );
        if (length <= 0) return new Uint8Array();
        const buf = Buffer.alloc(length);
        const { bytesRead } = await fh.read(buf, 0, length, offset);
        return buf.subarray(0, bytesRead);
      } finally {
        await fh.close();
      }
    },
    async statFile(ref, filePath, signal) {
      const root = await snapshotDir(ref, signal);
      const host = await resolveInRoot(root, filePath, { followLast: false });
      const st = await lstat(host).catch(() => {
        throw new NotFoundError(`${filePath}: no such file or directory`);
      });
      return toFileStat(path.posix.basename(filePath), st, st.isSymbolicLink() ? await readlink(host) : '');
    },
    async readDir(ref, dir, signal, includePattern) {
      const root = await snapshotDir(ref, signal);
      const host = await resolveInRoot(root, dir);
      const matcher = includePattern ? PatternMatcher.create([includePattern]) : undefined;
      const names = await readdir(host).catch(() => {
        throw new NotFoundError(`${dir}: no such directory`);
      });
      const out: FileStat[] = [];
      for (const name of names.sort()) {
        if (matcher && !matcher.matches(name)) continue;
        const st = await lstat(path.join(host, name));
        out.push(toFileStat(name, st, st.isSymbolicLink() ? await readlink(path.join(host, name)) : ''));
      }
      return out;
    },
    resolveImageConfig: (ref, opts, signal) => resolveImageConfig(ref, opts, signal, [build.sessionId]),
    workerPlatforms,
    warn(warning) {
      build.job.write({
        kind: 'warning',
        vertex: '',
        level: warning.level ?? 1,
        short: warning.short,
        detail: warning.detail ?? [],
        ...(warning.url === undefined ? {} : { url: warning.url }),
      });
    },
  };
}

function toFileStat(name: string, st: Stats, linkname: string): FileStat {
  return {
    path: name,
    mode: goModeFromUnix(st.mode),
    uid: st.uid,
    gid: st.gid,
    size: st.isDirectory() ? 0 : st.size,
    modTime: BigInt(Math.round(st.mtimeMs)) * 1_000_000n,
    linkname,
  };
}
