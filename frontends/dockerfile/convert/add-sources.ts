import { posix } from 'node:path';
import type { OpOptions } from '../../../client/llb/op-options.js';
import { SourceVertex } from '../../../client/llb/source-op.js';
import { State } from '../../../client/llb/state.js';

/**
 * ADD's remote sources (dockerfile2llb dispatchCopy): URLs become an http(s) SourceOp holding one
 * file, git URLs a git SourceOp holding the checkout. The attrs and identifiers follow
 * client/llb/source.go so definitions match BuildKit's byte for byte.
 */

/** A git URL as ADD accepts it (BuildKit gitutil.ParseGitRef, transports spelled out). */
export interface GitRef {
  /** The remote with its transport: `git://h/p`, `https://h/p.git`, `ssh://…`, `git@h:p`. */
  readonly remote: string;
  /** Ref and subdir from the `#ref:subdir` fragment. */
  readonly ref: string;
  readonly subdir: string;
}

/**
 * Whether `src` names a git repository rather than a context path: `git@…`, `git://…`, `ssh://…`,
 * or an http(s) URL whose path ends in `.git`.
 */
export function parseGitRef(src: string): GitRef | undefined {
  const hash = src.indexOf('#');
  const remote = hash < 0 ? src : src.slice(0, hash);
  const fragment = hash < 0 ? '' : src.slice(hash + 1);
  let isGit = false;
  if (remote.startsWith('git@') || remote.startsWith('git://') || remote.startsWith('ssh://')) {
    isGit = true;
  } else if (remote.startsWith('http://') || remote.startsWith('https://')) {
    try {
      isGit = new URL(remote).pathname.endsWith('.git');
    } catch {
      isGit = false;
    }
  }
  if (!isGit) return undefined;
  const colon = fragment.indexOf(':');
  return {
    remote,
    ref: colon < 0 ? fragment : fragment.slice(0, colon),
    subdir: colon < 0 ? '' : fragment.slice(colon + 1),
  };
}

export function isHttpSource(src: string): boolean {
  return src.startsWith('http://') || src.startsWith('https://');
}

/** The name the downloaded file gets: the URL path's last element, else `__unnamed__`. */
export function httpFilename(src: string): string {
  try {
    const p = new URL(src).pathname;
    const cleaned = posix.normalize(p === '' ? '/' : p).replace(/\/+$/, '');
    const base = posix.basename(cleaned);
    if (base !== '' && base !== '.' && base !== '/') return decodeURIComponent(base);
  } catch {
    // An unparsable URL still gets a file; the daemon reports the URL itself.
  }
  return '__unnamed__';
}

export interface HttpSourceOptions extends OpOptions {
  readonly filename?: string;
  readonly checksum?: string;
  readonly perm?: number;
  readonly uid?: number;
  readonly gid?: number;
}

/** llb.HTTP: the identifier is the URL itself. */
export function httpSource(url: string, opts: HttpSourceOptions = {}): State {
  const attrs: Record<string, string> = {};
  const caps = ['source.http'];
  if (opts.checksum) {
    attrs['http.checksum'] = opts.checksum;
    caps.push('source.http.checksum');
  }
  if (opts.filename) attrs['http.filename'] = opts.filename;
  if (opts.perm) {
    attrs['http.perm'] = `0${opts.perm.toString(8)}`;
    caps.push('source.http.perm');
  }
  if (opts.uid) {
    attrs['http.uid'] = String(opts.uid);
    caps.push('source.http.uidgid');
  }
  if (opts.gid) {
    attrs['http.gid'] = String(opts.gid);
    caps.push('source.http.uidgid');
  }
  return new State({ vertex: new SourceVertex(url, attrs, opts, [...new Set(caps)], false), index: 0 });
}

export interface GitSourceOptions extends OpOptions {
  readonly keepGitDir?: boolean;
  /** Commit the ref must resolve to (`git.checksum`). */
  readonly checksum?: string;
}

/**
 * llb.Git(remote, "ref[:subdir]"): the identifier drops the transport (scp-like `git@h:p` becomes
 * `git@h/p`), so the same repository gets the same identifier whichever way it is reached; the
 * real URL travels in `git.fullurl`.
 */
export function gitSource(remote: string, fragment: string, opts: GitSourceOptions = {}): State {
  let id = remote.replace(/^(https?|git|ssh):\/\//, '');
  if (remote.startsWith('git@')) {
    const colon = id.indexOf(':');
    if (colon >= 0) id = `${id.slice(0, colon)}/${id.slice(colon + 1)}`;
  }
  if (fragment !== '') id += `#${fragment}`;
  const attrs: Record<string, string> = {
    'git.authheadersecret': 'GIT_AUTH_HEADER',
    'git.authtokensecret': 'GIT_AUTH_TOKEN',
    'git.fullurl': remote,
  };
  const caps = ['source.git', 'source.git.fullurl'];
  if (opts.keepGitDir) {
    attrs['git.keepgitdir'] = 'true';
    caps.push('source.git.keepgitdir');
  }
  if (opts.checksum) {
    attrs['git.checksum'] = opts.checksum;
    caps.push('source.git.checksum');
  }
  return new State({ vertex: new SourceVertex(`git://${id}`, attrs, opts, caps, false), index: 0 });
}

/** An ADD source that is not in the build context: the state to copy from and the path in it. */
export interface RemoteAddSource {
  readonly state: State;
  readonly path: string;
}

/**
 * The state an ADD source comes from when it is a git or http(s) URL; undefined for context paths.
 * `checksum` is `--checksum` (a digest for URLs, a commit for git).
 */
export function remoteAddSource(
  src: string,
  opts: { readonly op: OpOptions; readonly checksum: string; readonly keepGitDir: boolean },
): RemoteAddSource | undefined {
  const git = parseGitRef(src);
  if (git) {
    const fragment = git.subdir !== '' ? `${git.ref}:${git.subdir}` : git.ref;
    const state = gitSource(git.remote, fragment, {
      ...opts.op,
      ...(opts.keepGitDir ? { keepGitDir: true } : {}),
      ...(opts.checksum ? { checksum: opts.checksum } : {}),
    });
    return { state, path: '/' };
  }
  if (!isHttpSource(src)) return undefined;
  // Remote files are never unpacked: the copy has no attemptUnpack.
  const filename = httpFilename(src);
  const state = httpSource(src, {
    ...opts.op,
    filename,
    ...(opts.checksum ? { checksum: opts.checksum } : {}),
    description: { ...(opts.op.description ?? {}), 'com.docker.dockerfile.v1.command': '' },
  });
  return { state, path: filename };
}

/** `--checksum` (BuildKit HEAD): one source, an http(s) URL (sha256 digest) or git URL (commit). */
export function checkAddChecksum(checksum: string, sources: readonly string[]): string | undefined {
  if (checksum === '') return undefined;
  if (sources.length !== 1) return "checksum can't be specified for multiple sources";
  const src = sources[0] as string;
  if (parseGitRef(src)) {
    return /^[0-9a-f]{4,64}$/.test(checksum)
      ? undefined
      : `invalid checksum ${checksum} for a git source: want a commit id`;
  }
  if (!isHttpSource(src)) return "checksum can't be specified for non-HTTP(S) or non-git sources";
  return /^sha256:[0-9a-f]{64}$/.test(checksum) ? undefined : `invalid checksum digest format: ${checksum}`;
}
