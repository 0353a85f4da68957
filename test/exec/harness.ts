import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openCacheManager } from '../../daemon/cache/manager.js';
import type { CacheManager } from '../../daemon/cache/types.js';
import { CacheMountManager } from '../../daemon/solver/ops/exec-cache-mounts.js';
import { createExecOp, type ExecOpFactory } from '../../daemon/solver/ops/exec-op.js';
import type { SessionSource } from '../../daemon/solver/ops/exec-session.js';
import type { ImmutableRef, OpContext } from '../../daemon/solver/types.js';
import { decodeMessage, encodeMessage } from '../../proto/codec.js';
import type { ExecOp__Output } from '../../proto/generated/pb/ExecOp.js';
import { ContentHashCache } from '../../worker/fs/content-hash.js';
import { createRuncExecutor, type RuncExecutor } from '../../worker/executor/runc.js';
import { createNativeSnapshotter } from '../../worker/snapshot/native.js';

export interface ExecEnv {
  readonly root: string;
  readonly cache: CacheManager;
  readonly executor: RuncExecutor;
  readonly cacheMounts: CacheMountManager;
  readonly factory: ExecOpFactory;
  readonly busybox: ImmutableRef;
  readonly stateDir: string;
  readonly workRoot: string;
  close(): Promise<void>;
}

const noSessions: SessionSource = {
  get: () => Promise.reject(new Error('no sessions in this test')),
};

export async function openExecEnv(sessions: SessionSource = noSessions): Promise<ExecEnv> {
  const root = await mkdtemp(path.join(tmpdir(), 'kiln-exec-'));
  const signal = new AbortController().signal;
  const cache = await openCacheManager({
    root,
    snapshotter: createNativeSnapshotter(path.join(root, 'snapshots')),
    signal,
  });
  const stateDir = path.join(root, 'runc');
  const workRoot = path.join(root, 'exec');
  const executor = createRuncExecutor({ stateDir });
  await executor.cleanupStale(signal);
  const cacheMounts = new CacheMountManager(path.join(root, 'cache-mounts'));
  const factory = createExecOp({
    refs: cache,
    executor,
    sessions,
    cacheMounts,
    workRoot,
    hashCache: new ContentHashCache(),
  });
  const busybox = await makeBusybox(cache, signal);
  return {
    root,
    cache,
    executor,
    cacheMounts,
    factory,
    busybox,
    stateDir,
    workRoot,
    close: async () => {
      await busybox.release();
      await cache.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A tiny root: static busybox with its applets, and an `app` user (1000) in group `staff` too. */
async function makeBusybox(cache: CacheManager, signal: AbortSignal): Promise<ImmutableRef> {
  const m = await cache.newMutable(undefined, { description: 'busybox', recordType: 'regular' }, signal);
  try {
    await mkdir(path.join(m.dir, 'bin'), { recursive: true });
    await mkdir(path.join(m.dir, 'etc'), { recursive: true });
    await mkdir(path.join(m.dir, 'tmp'), { mode: 0o1777 });
    await copyFile('/bin/busybox', path.join(m.dir, 'bin', 'busybox'));
    const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' })
      .split('\n')
      .filter((a) => a !== '' && a !== 'busybox');
    for (const a of applets) await symlink('busybox', path.join(m.dir, 'bin', a));
    await writeFile(
      path.join(m.dir, 'etc', 'passwd'),
      'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n',
    );
    await writeFile(path.join(m.dir, 'etc', 'group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:app\n');
    await mkdir(path.join(m.dir, 'data', 'old'), { recursive: true });
    await writeFile(path.join(m.dir, 'data', 'old', 'a.txt'), 'a\n');
    await writeFile(path.join(m.dir, 'data', 'keep.txt'), 'keep\n');
    return await m.commit(signal);
  } finally {
    await m.release();
  }
}

export interface MountSpec {
  input?: number;
  dest: string;
  output?: number;
  readonly?: boolean;
  selector?: string;
  mountType?: number;
  TmpfsOpt?: { size: number };
  cacheOpt?: { ID: string; sharing?: number };
  secretOpt?: { ID: string; uid?: number; gid?: number; mode?: number; optional?: boolean };
}

export function execOp(opts: {
  args: string[];
  env?: string[];
  cwd?: string;
  user?: string;
  network?: number;
  mounts?: MountSpec[];
}): ExecOp__Output {
  const mounts = opts.mounts ?? [{ input: 0, dest: '/', output: 0 }];
  const bytes = encodeMessage('pb.ExecOp', {
    meta: { args: opts.args, env: opts.env ?? [], cwd: opts.cwd ?? '/', user: opts.user ?? '' },
    mounts,
    network: opts.network ?? 0,
  });
  return decodeMessage<ExecOp__Output>('pb.ExecOp', bytes);
}

export interface Ctx extends OpContext {
  readonly out: () => string;
}

export function ctx(signal: AbortSignal, sessionIds: string[] = []): Ctx {
  const chunks: Buffer[] = [];
  return {
    signal,
    sessionIds,
    progress: { status: () => {}, log: (_s, d) => chunks.push(Buffer.from(d)) },
    out: () => Buffer.concat(chunks).toString('utf8'),
  };
}

export function sh(script: string): string[] {
  return ['/bin/sh', '-c', script];
}
