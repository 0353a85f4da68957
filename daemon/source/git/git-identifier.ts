import { InvalidArgumentError } from '../../../proto/errors.js';

/** LLB attr keys of a git source (solver/pb/attr.go). */
export const GitAttrKeys = {
  keepGitDir: 'git.keepgitdir',
  fullUrl: 'git.fullurl',
  authHeaderSecret: 'git.authheadersecret',
  authTokenSecret: 'git.authtokensecret',
  knownSshHosts: 'git.knownsshhosts',
  mountSshSock: 'git.mountsshsock',
  checksum: 'git.checksum',
} as const;

/** A `git://<remote>[#ref[:subdir]]` SourceOp, parsed once (BuildKit source/gitidentifier.go). */
export interface GitIdentifier {
  /** What `git` is given: the `git.fullurl` attr when set, else the identifier as https. */
  readonly remote: string;
  /** Branch, tag, full ref or commit; '' is the remote's HEAD. */
  readonly ref: string;
  /** Directory of the repository to return, without leading `/`; '' for the whole tree. */
  readonly subdir: string;
  readonly keepGitDir: boolean;
  /** Commit (or prefix of one) the ref must resolve to. */
  readonly checksum: string | undefined;
}

const transports = ['http://', 'https://', 'git://', 'ssh://', 'git@'];

/** Whether `url` names its transport (`git@host:path` is scp-like ssh). */
export function isGitTransport(url: string): boolean {
  return transports.some((t) => url.startsWith(t));
}

/** `ref:subdir` of a fragment; the subdir is cleaned and relative. */
export function splitFragment(fragment: string): { ref: string; subdir: string } {
  const colon = fragment.indexOf(':');
  const ref = colon < 0 ? fragment : fragment.slice(0, colon);
  const rawSub = colon < 0 ? '' : fragment.slice(colon + 1);
  const parts: string[] = [];
  for (const p of rawSub.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return { ref, subdir: parts.join('/') };
}

export function parseGitIdentifier(
  identifier: string,
  attrs: Readonly<Record<string, string>>,
): GitIdentifier {
  const prefix = 'git://';
  if (!identifier.startsWith(prefix) || identifier.length === prefix.length) {
    throw new InvalidArgumentError(`invalid git source identifier ${JSON.stringify(identifier)}`);
  }
  const rest = identifier.slice(prefix.length);
  const hash = rest.indexOf('#');
  const base = hash < 0 ? rest : rest.slice(0, hash);
  const { ref, subdir } = splitFragment(hash < 0 ? '' : rest.slice(hash + 1));
  let remote = isGitTransport(base) ? base : `https://${base}`;
  const full = attrs[GitAttrKeys.fullUrl];
  if (full !== undefined && full !== '') remote = isGitTransport(full) ? full : `https://${full}`;
  if (remote.startsWith('-')) throw new InvalidArgumentError(`invalid git remote ${JSON.stringify(remote)}`);
  if (ref.startsWith('-')) throw new InvalidArgumentError(`invalid git ref ${JSON.stringify(ref)}`);
  const checksum = attrs[GitAttrKeys.checksum];
  if (checksum !== undefined && checksum !== '' && !/^[0-9a-f]{4,64}$/.test(checksum)) {
    throw new InvalidArgumentError(
      `invalid ${GitAttrKeys.checksum} ${JSON.stringify(checksum)}: want a commit id`,
    );
  }
  return {
    remote,
    ref,
    subdir,
    keepGitDir: attrs[GitAttrKeys.keepGitDir] === 'true',
    checksum: checksum === '' ? undefined : checksum,
  };
}

/** A full commit id (sha1 or sha256 object format). */
export function isCommitSha(ref: string): boolean {
  return /^[0-9a-f]{40}$/.test(ref) || /^[0-9a-f]{64}$/.test(ref);
}
