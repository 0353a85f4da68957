import { chmod, chown, lstat, mkdir, mkdtemp, readdir, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, KilnError, NotFoundError, UnimplementedError } from '../../../proto/errors.js';
import type { ExecOp__Output } from '../../../proto/generated/pb/ExecOp.js';
import type { Mount__Output } from '../../../proto/generated/pb/Mount.js';
import type { Platform__Output } from '../../../proto/generated/pb/Platform.js';
import type { ProxyEnv__Output } from '../../../proto/generated/pb/ProxyEnv.js';
import type { ContentHashCache } from '../../../worker/fs/content-hash.js';
import { copy } from '../../../worker/fs/file-actions.js';
import { mkdirAll } from '../../../worker/fs/mkdir-all.js';
import { isErrno, resolveInRoot } from '../../../worker/fs/root-path.js';
import { resolveUser } from '../../../worker/fs/user-lookup.js';
import type { ExecMount, Executor } from '../../../worker/executor/types.js';
import {
  listMountsUnder,
  mountOverlay,
  mountTmpfs,
  unmount,
  unmountAll,
} from '../../../worker/mount/mount.js';
import type { ImmutableRef, MutableRef, OpContext, RefManager, ResolvedOp } from '../types.js';
import { execCacheMap, MountTypes } from './exec-cache-map.js';
import type { CacheMountLease, CacheMountManager, CacheSharing } from './exec-cache-mounts.js';
import { StepOutput } from './exec-output.js';
import { syncOverlayChanges } from './exec-overlay-sync.js';
import { fetchSecret, listenSshAgent, type SessionSource } from './exec-session.js';

export interface ExecOpDeps {
  readonly refs: RefManager;
  readonly executor: Executor;
  /** The daemon's SessionManager (secrets and ssh-agent come from the job's sessions). */
  readonly sessions: SessionSource;
  readonly cacheMounts: CacheMountManager;
  /** Scratch space under --root for overlay upper/work dirs, secrets and sockets. */
  readonly workRoot: string;
  readonly hashCache: ContentHashCache;
}

export interface ExecOpInfo {
  readonly numInputs: number;
  readonly platform: Platform__Output | null;
  /** The vertex name (progress, snapshot description). */
  readonly name: string;
}

export type ExecOpFactory = (op: ExecOp__Output, info: ExecOpInfo) => ResolvedOp;

/** A step's process exited with a failing code. */
export class ExecProcessError extends KilnError {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number,
    readonly lastLines: readonly string[],
  ) {
    const head = `process "${args.join(' ')}" did not complete successfully: exit code: ${exitCode}`;
    super('INTERNAL', lastLines.length > 0 ? `${head}\n${lastLines.join('\n')}` : head);
    this.name = 'ExecProcessError';
  }
}

const DEFAULT_HOSTNAME = 'buildkitsandbox';
/** Mount points runc always creates in the rootfs; removed again when the step made them. */
const SYSTEM_MOUNTS = ['/proc', '/dev', '/sys', '/etc/hosts', '/etc/resolv.conf', '/etc/hostname'];
const sharingNames: Record<number, CacheSharing> = { 0: 'shared', 1: 'private', 2: 'locked' };

/** ExecOp (BuildKit solver/llbsolver/ops/exec.go): one process in a container over its mounts. */
export function createExecOp(deps: ExecOpDeps): ExecOpFactory {
  return (op, info) => {
    validate(op, info.numInputs);
    return {
      cacheMap: () => Promise.resolve(execCacheMap(op, info.numInputs, info.platform, deps.hashCache)),
      exec: (ctx, inputs) => runExec(deps, op, info, ctx, inputs),
    };
  };
}

function validate(op: ExecOp__Output, numInputs: number): void {
  if (!op.meta || op.meta.args.length === 0) throw new InvalidArgumentError('invalid ExecOp: no args');
  // security.insecure is checked against the build's entitlements when its definition is loaded
  // (daemon/control/entitlements.ts); here it only makes the step privileged.
  // Only bind mounts produce outputs: BuildKit's client leaves `output` at 0 on secret, ssh, cache
  // and tmpfs mounts, so their field means nothing.
  const outputs = op.mounts
    .filter((m) => m.mountType === MountTypes.bind)
    .map((m) => Number(m.output))
    .filter((o) => o >= 0)
    .sort((a, b) => a - b);
  outputs.forEach((o, i) => {
    if (o !== i)
      throw new InvalidArgumentError(
        `invalid ExecOp: outputs must be numbered 0..n-1, got ${outputs.join(',')}`,
      );
  });
  for (const m of op.mounts) {
    const input = Number(m.input);
    if (input < -1 || input >= numInputs)
      throw new InvalidArgumentError(`invalid ExecOp: mount ${m.dest} uses input ${input} of ${numInputs}`);
    if (!path.posix.isAbsolute(m.dest))
      throw new InvalidArgumentError(
        `invalid ExecOp: mount destination ${JSON.stringify(m.dest)} is not absolute`,
      );
  }
  if (!op.mounts.some((m) => m.dest === '/')) throw new InvalidArgumentError('invalid ExecOp: no root mount');
}

/** Everything a step holds; released in reverse order whatever happens. */
class StepResources {
  private readonly undo: (() => Promise<unknown>)[] = [];
  defer(fn: () => Promise<unknown>): void {
    this.undo.push(fn);
  }
  async release(): Promise<void> {
    const errors: unknown[] = [];
    for (const fn of this.undo.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}

type RootState =
  | { readonly kind: 'overlay'; readonly base: ImmutableRef; readonly upper: string; readonly merged: string }
  | { readonly kind: 'direct'; readonly mutable: MutableRef };

async function runExec(
  deps: ExecOpDeps,
  op: ExecOp__Output,
  info: ExecOpInfo,
  ctx: OpContext,
  inputs: readonly ImmutableRef[],
): Promise<ImmutableRef[]> {
  const { signal } = ctx;
  const meta = op.meta as NonNullable<ExecOp__Output['meta']>;
  const res = new StepResources();
  const outputs: ImmutableRef[] = [];
  await mkdir(deps.workRoot, { recursive: true, mode: 0o700 });
  const stepDir = await mkdtemp(path.join(deps.workRoot, 'exec-'));
  res.defer(async () => {
    await unmountAll(stepDir);
    // Never rm through a mount that is somehow still there (it could reach a snapshot).
    if ((await listMountsUnder(stepDir)).length === 0) await rm(stepDir, { recursive: true, force: true });
  });
  const newOpts = (share: 'copy' | 'hardlink') => ({
    description: info.name,
    recordType: 'regular' as const,
    share,
  });
  /** Mutables that become outputs, committed after a successful run. */
  const pendingOutputs: { index: number; ref: MutableRef }[] = [];
  try {
    const rootMount = op.mounts.find((m) => m.dest === '/') as Mount__Output;
    const root = await prepareRoot(rootMount);
    const rootfs = root.kind === 'overlay' ? root.merged : root.mutable.dir;

    const user = await resolveUser(rootfs, meta.user, signal);
    const cwd = meta.cwd === '' ? '/' : path.posix.resolve('/', meta.cwd);
    const stubs = new Set<string>();
    for (const dest of [...SYSTEM_MOUNTS, ...op.mounts.filter((m) => m.dest !== '/').map((m) => m.dest)]) {
      const stub = await topmostMissing(rootfs, dest);
      if (stub !== undefined) stubs.add(stub);
    }
    const cwdHost = await resolveInRoot(rootfs, cwd);
    await mkdirAll(cwdHost, 0o755, { uid: user.uid, gid: user.gid }, undefined);

    const env = [...meta.env, ...proxyEnv(meta.proxy_env)];
    for (const se of op.secretenv) {
      const data = await fetchSecret(deps.sessions, ctx.sessionIds, se.ID, signal);
      if (data === undefined) {
        if (se.optional) continue;
        throw new NotFoundError(`secret ${se.ID} not found`);
      }
      env.push(`${se.name}=${Buffer.from(data).toString('utf8')}`);
    }

    const execMounts: ExecMount[] = [];
    const others = op.mounts
      .filter((m) => m.dest !== '/')
      .map((m, i) => ({ m, i }))
      .sort((a, b) => depth(a.m.dest) - depth(b.m.dest) || a.i - b.i)
      .map((x) => x.m);
    let sshCount = 0;
    for (const m of others) {
      const dest = path.posix.resolve('/', m.dest);
      switch (m.mountType) {
        case MountTypes.bind:
          execMounts.push(await bindMount(m, dest));
          break;
        case MountTypes.cache: {
          const lease = await cacheMount(m);
          execMounts.push({ kind: 'bind', source: lease.dir, dest, readonly: m.readonly });
          break;
        }
        case MountTypes.tmpfs: {
          const size = m.TmpfsOpt ? Number(m.TmpfsOpt.size) : 0;
          execMounts.push(size > 0 ? { kind: 'tmpfs', dest, sizeBytes: size } : { kind: 'tmpfs', dest });
          break;
        }
        case MountTypes.secret: {
          const source = await secretFile(m);
          if (source !== undefined) execMounts.push({ kind: 'bind', source, dest, readonly: true });
          break;
        }
        case MountTypes.ssh: {
          const source = await sshSocket(m, sshCount++);
          if (source !== undefined) execMounts.push({ kind: 'socket', source, dest });
          break;
        }
        default:
          throw new UnimplementedError(`mount type ${m.mountType} is not supported (${m.dest})`);
      }
    }

    const output = new StepOutput(ctx.progress);
    const network = op.network === 2 ? 'none' : 'host';
    const { exitCode } = await deps.executor.run({
      rootfs,
      readonlyRootfs: rootMount.readonly,
      mounts: execMounts,
      process: {
        args: meta.args,
        env,
        cwd,
        uid: user.uid,
        gid: user.gid,
        additionalGids: user.additionalGids,
      },
      network,
      privileged: op.security === 1,
      hostname: meta.hostname || DEFAULT_HOSTNAME,
      extraHosts: meta.extraHosts.map((h) => ({ host: h.Host, ip: h.IP })),
      stdout: (c) => output.write(1, c),
      stderr: (c) => output.write(2, c),
      signal,
    });
    const ok = meta.validExitCodes.length > 0 ? meta.validExitCodes.includes(exitCode) : exitCode === 0;
    if (!ok) throw new ExecProcessError(meta.args, exitCode, output.lastLines(10));

    for (const stub of stubs) await removeStub(path.join(rootfs, stub));

    const rootOut = Number(rootMount.output);
    if (rootOut >= 0) {
      if (root.kind === 'overlay') {
        const out = await deps.refs.newMutable(root.base, newOpts('hardlink'), signal);
        res.defer(() => out.release());
        // The merged view is unmounted midway: the upper dir's files are then moved, not copied.
        await syncOverlayChanges(root.upper, root.merged, out.dir, signal, () => unmount(root.merged));
        pendingOutputs.push({ index: rootOut, ref: out });
      } else {
        pendingOutputs.push({ index: rootOut, ref: root.mutable });
      }
    }
    for (const p of pendingOutputs) outputs[p.index] = await p.ref.commit(signal);
    await res.release();
    return outputs;
  } catch (err) {
    await Promise.allSettled(outputs.map((r) => r.release()));
    await res.release().catch(() => {});
    throw err;
  }

  async function prepareRoot(m: Mount__Output): Promise<RootState> {
    const input = Number(m.input);
    if (input < 0) {
      const mutable = await deps.refs.newMutable(undefined, newOpts('copy'), signal);
      res.defer(() => mutable.release());
      return { kind: 'direct', mutable };
    }
    const base = inputs[input] as ImmutableRef;
    const upper = path.join(stepDir, 'upper');
    const work = path.join(stepDir, 'work');
    const merged = path.join(stepDir, 'rootfs');
    await Promise.all([mkdir(upper), mkdir(work), mkdir(merged)]);
    try {
      await mountOverlay({ lower: [base.snapshot.dir], upper, work, target: merged }, signal);
      res.defer(() => unmount(merged));
      return { kind: 'overlay', base, upper, merged };
    } catch (err) {
      if (signal.aborted) throw err;
      // No overlayfs here (or the snapshot dir cannot be a lower dir): run on a full copy.
      const mutable = await deps.refs.newMutable(base, newOpts('copy'), signal);
      res.defer(() => mutable.release());
      return { kind: 'direct', mutable };
    }
  }

  async function bindMount(m: Mount__Output, dest: string): Promise<ExecMount> {
    const input = Number(m.input);
    const out = Number(m.output);
    const base = input >= 0 ? (inputs[input] as ImmutableRef) : undefined;
    if (m.readonly && out < 0) {
      if (!base) {
        const empty = await mkdtemp(path.join(stepDir, 'empty-'));
        return { kind: 'bind', source: empty, dest, readonly: true };
      }
      const source = await resolveInRoot(base.snapshot.dir, m.selector || '/');
      await lstat(source).catch((err: unknown) => {
        throw new NotFoundError(`mount ${dest}: ${m.selector} not found in its input`, { cause: err });
      });
      return { kind: 'bind', source, dest, readonly: true };
    }
    const mutable = await deps.refs.newMutable(base, newOpts('copy'), signal);
    res.defer(() => mutable.release());
    if (out >= 0) pendingOutputs.push({ index: out, ref: mutable });
    const source = await resolveInRoot(mutable.dir, m.selector || '/');
    await mkdir(source, { recursive: true });
    return { kind: 'bind', source, dest, readonly: m.readonly };
  }

  async function cacheMount(m: Mount__Output): Promise<CacheMountLease> {
    const id = m.cacheOpt?.ID || m.dest;
    const sharing = sharingNames[m.cacheOpt?.sharing ?? 0] ?? 'shared';
    const lease = await deps.cacheMounts.acquire(id, sharing, signal);
    res.defer(() => lease.release());
    const input = Number(m.input);
    if (lease.created && input >= 0) {
      await copy(
        (inputs[input] as ImmutableRef).snapshot.dir,
        lease.dir,
        {
          src: m.selector || '/',
          dest: '/',
          followSymlink: true,
          dirCopyContents: true,
          createDestPath: true,
          allowWildcard: false,
          allowEmptyWildcard: false,
          includePatterns: [],
          excludePatterns: [],
          alwaysReplaceExistingDestPaths: true,
        },
        signal,
      );
    }
    return lease;
  }

  async function secretFile(m: Mount__Output): Promise<string | undefined> {
    const opt = m.secretOpt;
    const id = opt?.ID ?? '';
    const data = await fetchSecret(deps.sessions, ctx.sessionIds, id, signal);
    if (data === undefined) {
      if (opt?.optional) return undefined;
      throw new NotFoundError(`secret ${id} not found`);
    }
    const dir = path.join(stepDir, 'secrets');
    if (!(await exists(dir))) {
      await mkdir(dir, { mode: 0o700 });
      // tmpfs: a secret never touches the disk, so it cannot end up in a snapshot or a backup.
      await mountTmpfs(dir, { mode: 0o700, sizeBytes: 16 * 1024 * 1024 }, signal);
    }
    const file = path.join(dir, `${(await readdir(dir)).length}`);
    await writeFile(file, data, { mode: 0o600 });
    await chown(file, opt?.uid ?? 0, opt?.gid ?? 0);
    await chmod(file, (opt?.mode ?? 0o400) & 0o7777);
    return file;
  }

  async function sshSocket(m: Mount__Output, n: number): Promise<string | undefined> {
    const opt = m.SSHOpt;
    const id = opt?.ID || 'default';
    const dir = path.join(stepDir, `ssh-${n}`);
    await mkdir(dir, { mode: 0o711 });
    const socketPath = path.join(dir, 'agent.sock');
    const fwd = await listenSshAgent({
      sessions: deps.sessions,
      sessionIds: ctx.sessionIds,
      id,
      socketPath,
      uid: opt?.uid ?? 0,
      gid: opt?.gid ?? 0,
      mode: (opt?.mode ?? 0o600) & 0o7777,
      signal,
    });
    if (!fwd) {
      if (opt?.optional) return undefined;
      throw new NotFoundError(`no SSH key ${JSON.stringify(id)} forwarded from the client`);
    }
    res.defer(() => fwd.close());
    return socketPath;
  }
}

function depth(p: string): number {
  return path.posix
    .resolve('/', p)
    .split('/')
    .filter((s) => s !== '').length;
}

function proxyEnv(p: ProxyEnv__Output | null): string[] {
  if (!p) return [];
  const out: string[] = [];
  const add = (name: string, v: string) => {
    if (v) out.push(`${name.toUpperCase()}=${v}`, `${name}=${v}`);
  };
  add('http_proxy', p.http_proxy);
  add('https_proxy', p.https_proxy);
  add('ftp_proxy', p.ftp_proxy);
  add('no_proxy', p.no_proxy);
  add('all_proxy', p.all_proxy);
  return out;
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}

/** The first component of `dest` missing in the rootfs (what runc will create), rooted. */
async function topmostMissing(rootfs: string, dest: string): Promise<string | undefined> {
  const parts = path.posix
    .resolve('/', dest)
    .split('/')
    .filter((s) => s !== '');
  for (let i = 1; i <= parts.length; i++) {
    const p = `/${parts.slice(0, i).join('/')}`;
    const host = await resolveInRoot(rootfs, p);
    if (!(await exists(host))) return path.relative(rootfs, host);
  }
  return undefined;
}

/** Removes a mount stub: empty files and directories holding nothing but stubs. */
async function removeStub(p: string): Promise<void> {
  let st;
  try {
    st = await lstat(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  if (st.isDirectory()) {
    for (const name of await readdir(p)) await removeStub(path.join(p, name));
    await rmdir(p).catch(() => {});
  } else if (st.isFile() && st.size === 0) {
    await unlink(p);
  }
}

/**
 * Start-up repair of the exec scratch space: a daemon killed mid-step leaves overlay and tmpfs
 * mounts and step directories behind. Call after the executor's cleanupStale (no container holds
 * them any more).
 */
export async function cleanupExecScratch(workRoot: string): Promise<void> {
  await unmountAll(workRoot);
  if ((await listMountsUnder(workRoot)).length > 0) return;
  for (const name of await readdir(workRoot).catch(() => [] as string[]))
    await rm(path.join(workRoot, name), { recursive: true, force: true });
}
