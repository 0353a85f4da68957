import { execFile } from 'node:child_process';
import { cp, lstat, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, KilnError } from '../../../proto/errors.js';
import { isInsideRoot, resolveInRoot } from '../../../worker/fs/root-path.js';
import type { CacheMap, ImmutableRef, OpContext, RefManager, ResolvedOp } from '../../solver/types.js';
import { type GitIdentifier, isCommitSha, parseGitIdentifier } from './git-identifier.js';

/**
 * `git://` sources (BuildKit source/git): the ref is resolved to a commit with `git ls-remote`
 * (that commit is the cache key), then fetched shallowly and checked out into a snapshot of its
 * own. `.git` is dropped unless `git.keepgitdir`; a `#ref:subdir` returns only that directory.
 * Runs the `git` binary (Debian package git).
 */

export class GitSourceError extends KilnError {
  readonly remote: string;
  constructor(code: KilnError['code'], remote: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'GitSourceError';
    this.remote = remote;
  }
}

export interface GitSourceDeps {
  readonly refs: RefManager;
  /** Scratch space for clones; on the same filesystem as the snapshots so checkouts move, not copy. */
  readonly workDir: string;
}

export interface GitSource {
  resolve(identifier: string, attrs: Readonly<Record<string, string>>): ResolvedOp;
}

/** A ref as the remote advertises it, with the commit it points to. */
export interface ResolvedRef {
  readonly commit: string;
  /** `refs/heads/x`, `refs/tags/x`, `HEAD`, or '' when the ref was a commit id. */
  readonly fullRef: string;
}

interface GitResult {
  readonly stdout: string;
  readonly stderr: string;
}

class GitCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
    options: { cause: unknown },
  ) {
    super(`git ${args.join(' ')}: ${lastLines(stderr) || (options.cause as Error).message}`, options);
    this.name = 'GitCommandError';
  }
}

function lastLines(s: string): string {
  return s.trim().split('\n').slice(-3).join('; ');
}

/** Hides credentials of `https://user:token@host/...` in messages. */
export function redactRemote(remote: string): string {
  return remote.replace(/^([a-z+]+:\/\/)[^@/]*@/, '$1');
}

function runGit(args: readonly string[], opts: { cwd?: string; signal: AbortSignal }): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['-c', 'advice.detachedHead=false', '-c', 'init.defaultBranch=main', ...args],
      {
        cwd: opts.cwd,
        signal: opts.signal,
        maxBuffer: 64 << 20,
        env: {
          PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
          // Never prompt, never read the daemon user's or the system's git configuration.
          GIT_TERMINAL_PROMPT: '0',
          GIT_ASKPASS: 'true',
          GIT_SSH_COMMAND: 'ssh -o BatchMode=yes',
          GIT_CONFIG_NOSYSTEM: '1',
          // No ext::/file:: transports, also not through submodules: a build must not run commands or
          // read repositories on the daemon's host.
          GIT_ALLOW_PROTOCOL: 'git:http:https:ssh',
          GIT_CONFIG_GLOBAL: '/dev/null',
          HOME: '/nonexistent',
          LC_ALL: 'C',
        },
      },
      (err, stdout, stderr) => {
        if (err) reject(new GitCommandError(args, stderr, { cause: err }));
        else resolve({ stdout, stderr });
      },
    );
  });
}

/** `git ls-remote`: the commit a branch, tag (peeled), full ref or HEAD points to. */
export async function resolveGitRef(remote: string, ref: string, signal: AbortSignal): Promise<ResolvedRef> {
  if (isCommitSha(ref)) return { commit: ref, fullRef: '' };
  const want = ref === '' ? 'HEAD' : ref;
  let out: GitResult;
  try {
    out = await runGit(['ls-remote', '--', remote, want, `${want}^{}`], { signal });
  } catch (err) {
    signal.throwIfAborted();
    const why = err instanceof GitCommandError ? lastLines(err.stderr) : (err as Error).message;
    throw new GitSourceError(
      ErrorCodes.Unavailable,
      remote,
      `failed to reach git repository ${redactRemote(remote)}: ${why}`,
      { cause: err },
    );
  }
  const refs = new Map<string, string>();
  for (const line of out.stdout.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) refs.set(line.slice(tab + 1), line.slice(0, tab));
  }
  const candidates =
    want === 'HEAD' || want.startsWith('refs/') ? [want] : [`refs/heads/${want}`, `refs/tags/${want}`];
  for (const name of candidates) {
    // An annotated tag points at a tag object; the commit is its peeled value.
    const commit = refs.get(`${name}^{}`) ?? refs.get(name);
    if (commit !== undefined) return { commit, fullRef: name };
  }
  throw new GitSourceError(
    ErrorCodes.NotFound,
    remote,
    `git repository ${redactRemote(remote)} does not contain ref ${JSON.stringify(want)}`,
  );
}

/** BuildKit's shaToCacheKey: the commit, plus what else changes the snapshot. */
export function gitCacheKey(id: GitIdentifier, commit: string): string {
  let key = commit;
  if (id.keepGitDir) key += '.git';
  if (id.subdir !== '') key += `:${id.subdir}`;
  return key;
}

export function createGitSource(deps: GitSourceDeps): GitSource {
  // Clones a killed daemon left behind are removed before the first new one.
  let prepared: Promise<void> | undefined;
  const prepareWorkDir = () =>
    (prepared ??= rm(deps.workDir, { recursive: true, force: true }).then(async () => {
      await mkdir(deps.workDir, { recursive: true });
    }));
  async function fetchCommit(id: GitIdentifier, resolved: ResolvedRef, repo: string, ctx: OpContext) {
    const signal = ctx.signal;
    const run = async (args: string[]) => {
      const r = await runGit(args, { cwd: repo, signal });
      if (r.stderr.trim() !== '') ctx.progress.log(2, new TextEncoder().encode(r.stderr));
      return r;
    };
    await run(['init', '-q']);
    await run(['remote', 'add', 'origin', id.remote]);
    const { commit, fullRef } = resolved;
    let refspec: string;
    if (fullRef.startsWith('refs/heads/')) refspec = `+${fullRef}:refs/remotes/origin/${fullRef.slice(11)}`;
    else if (fullRef.startsWith('refs/')) refspec = `+${fullRef}:${fullRef}`;
    else refspec = fullRef === '' ? commit : fullRef;
    try {
      await run(['fetch', '-q', '--depth=1', '--no-tags', 'origin', refspec]);
    } catch (err) {
      signal.throwIfAborted();
      if (fullRef !== '') throw fetchError(id, err);
    }
    if (!(await hasCommit(repo, commit, signal))) {
      // The server refused a fetch by commit id (or the ref moved since ls-remote): fetch everything.
      try {
        await run([
          'fetch',
          '-q',
          '--no-tags',
          'origin',
          '+refs/heads/*:refs/remotes/origin/*',
          '+refs/tags/*:refs/tags/*',
        ]);
      } catch (err) {
        signal.throwIfAborted();
        throw fetchError(id, err);
      }
      if (!(await hasCommit(repo, commit, signal))) {
        throw new GitSourceError(
          ErrorCodes.NotFound,
          id.remote,
          `git repository ${redactRemote(id.remote)} does not contain commit ${commit}`,
        );
      }
    }
    if (id.keepGitDir && fullRef.startsWith('refs/heads/')) {
      await run(['checkout', '-q', '-B', fullRef.slice(11), commit]);
    } else {
      await run(['checkout', '-q', '--detach', commit]);
    }
    if (await exists(path.join(repo, '.gitmodules'))) {
      await run(['submodule', 'update', '--init', '--recursive', '--depth=1']);
    }
  }

  async function checkout(id: GitIdentifier, resolved: ResolvedRef, ctx: OpContext): Promise<ImmutableRef> {
    await prepareWorkDir();
    const tmp = await mkdtemp(path.join(deps.workDir, 'clone-'));
    try {
      const repo = path.join(tmp, 'repo');
      await mkdir(repo);
      const statusId = `fetching ${redactRemote(id.remote)} ${resolved.commit.slice(0, 12)}`;
      ctx.progress.status(statusId, {});
      await fetchCommit(id, resolved, repo, ctx);
      ctx.progress.status(statusId, { completed: true });
      let from = repo;
      if (id.subdir !== '') {
        from = await resolveInRoot(repo, id.subdir);
        const st = await lstat(from).catch(() => undefined);
        if (!isInsideRoot(repo, from) || !st?.isDirectory()) {
          throw new GitSourceError(
            ErrorCodes.NotFound,
            id.remote,
            `subdirectory ${JSON.stringify(id.subdir)} not found in ${redactRemote(id.remote)} at ${resolved.commit}`,
          );
        }
      }
      const keepGit = id.keepGitDir && id.subdir === '';
      const mutable = await deps.refs.newMutable(
        undefined,
        {
          recordType: 'source.git.checkout',
          description: `git snapshot for ${redactRemote(id.remote)}#${id.ref || 'HEAD'}${id.subdir ? `:${id.subdir}` : ''}`,
        },
        ctx.signal,
      );
      let committed: ImmutableRef | undefined;
      try {
        for (const name of await readdir(from)) {
          if (name === '.git' && !keepGit) continue;
          await moveEntry(path.join(from, name), path.join(mutable.dir, name));
        }
        committed = await mutable.commit(ctx.signal);
        return committed;
      } finally {
        if (committed === undefined) await mutable.release();
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  return {
    resolve(identifier, attrs) {
      const id = parseGitIdentifier(identifier, attrs);
      let resolving: Promise<ResolvedRef> | undefined;
      const resolveOnce = (signal: AbortSignal) => {
        resolving ??= resolveGitRef(id.remote, id.ref, signal).then((r) => {
          if (id.checksum !== undefined && !r.commit.startsWith(id.checksum)) {
            throw new GitSourceError(
              ErrorCodes.FailedPrecondition,
              id.remote,
              `expected checksum to match ${id.checksum}, got ${r.commit} for ${redactRemote(id.remote)}#${id.ref || 'HEAD'}`,
            );
          }
          return r;
        });
        // A failed or aborted resolution is retried by the next caller.
        resolving.catch(() => {
          resolving = undefined;
        });
        return resolving;
      };
      return {
        async cacheMap(ctx: OpContext): Promise<CacheMap> {
          const r = await resolveOnce(ctx.signal);
          return { digest: gitCacheKey(id, r.commit), deps: [] };
        },
        async exec(ctx: OpContext): Promise<ImmutableRef[]> {
          return [await checkout(id, await resolveOnce(ctx.signal), ctx)];
        },
      };
    },
  };
}

function fetchError(id: GitIdentifier, err: unknown): GitSourceError {
  const why = err instanceof GitCommandError ? lastLines(err.stderr) : (err as Error).message;
  return new GitSourceError(
    ErrorCodes.Unavailable,
    id.remote,
    `failed to fetch ${redactRemote(id.remote)}#${id.ref || 'HEAD'}: ${why}`,
    { cause: err },
  );
}

async function hasCommit(repo: string, commit: string, signal: AbortSignal): Promise<boolean> {
  try {
    await runGit(['cat-file', '-e', `${commit}^{commit}`], { cwd: repo, signal });
    return true;
  } catch {
    signal.throwIfAborted();
    return false;
  }
}

async function exists(p: string): Promise<boolean> {
  return (await lstat(p).catch(() => undefined)) !== undefined;
}

/** Rename when on the same filesystem; otherwise copy, keeping symlinks and modes. */
async function moveEntry(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await cp(from, to, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  }
}
