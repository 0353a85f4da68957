import { InvalidArgumentError } from '../../../proto/errors.js';

/**
 * Image references with Docker's normalisation (distribution/reference ParseNormalizedNamed +
 * TagNameOnly): `busybox` → `docker.io/library/busybox:latest`; a first component with `.` or `:`
 * or equal to `localhost` is a registry host; `index.docker.io` is `docker.io`; a name with neither
 * tag nor digest gets `:latest`.
 */
export interface ImageName {
  /** `docker.io` for Docker Hub, else `host[:port]`. */
  readonly registry: string;
  /** `library/busybox`, `x/y`. */
  readonly repository: string;
  readonly tag?: string;
  /** `sha256:<hex>` */
  readonly digest?: string;
  /** The short form Docker prints: `busybox:latest`, `x/y:t`, `127.0.0.1:5000/x/y:t`. */
  familiar(): string;
  /** The full normalised form: `docker.io/library/busybox:latest`. */
  toString(): string;
}

export const DockerHubDomain = 'docker.io';
/** Where Docker Hub's registry API really lives. */
export const DockerHubApiHost = 'registry-1.docker.io';

const componentRe = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const domainRe =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;
const tagRe = /^[\w][\w.-]{0,127}$/;
const digestRe = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

function invalid(ref: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid image reference ${JSON.stringify(ref)}: ${why}`);
}

export function parseImageName(ref: string): ImageName {
  if (ref === '') throw invalid(ref, 'empty');
  if (ref.length > 4096 || /\s/.test(ref)) throw invalid(ref, 'contains whitespace or is too long');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestRe.test(digest)) throw invalid(ref, `bad digest ${JSON.stringify(digest)}`);
    if (digest.startsWith('sha256:') && !/^sha256:[a-f0-9]{64}$/.test(digest))
      throw invalid(ref, 'sha256 digest must be 64 lowercase hex characters');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) throw invalid(ref, `bad tag ${JSON.stringify(tag)}`);
  }
  if (rest === '') throw invalid(ref, 'missing repository name');
  let registry: string;
  let repository: string;
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  if (
    slash >= 0 &&
    (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))
  ) {
    registry = first;
    repository = rest.slice(slash + 1);
    if (!domainRe.test(registry)) throw invalid(ref, `bad registry host ${JSON.stringify(registry)}`);
  } else {
    registry = DockerHubDomain;
    repository = rest;
  }
  if (registry === 'index.docker.io') registry = DockerHubDomain;
  if (registry === DockerHubDomain && !repository.includes('/')) repository = `library/${repository}`;
  if (repository.toLowerCase() !== repository) throw invalid(ref, 'repository name must be lowercase');
  for (const c of repository.split('/')) {
    if (!componentRe.test(c)) throw invalid(ref, `bad path component ${JSON.stringify(c)}`);
  }
  if (registry.length + 1 + repository.length > 255) throw invalid(ref, 'name longer than 255 characters');
  if (tag === undefined && digest === undefined) tag = 'latest';
  return makeImageName(registry, repository, tag, digest);
}

function makeImageName(
  registry: string,
  repository: string,
  tag: string | undefined,
  digest: string | undefined,
): ImageName {
  const suffix = `${tag === undefined ? '' : `:${tag}`}${digest === undefined ? '' : `@${digest}`}`;
  return {
    registry,
    repository,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
    familiar() {
      if (registry !== DockerHubDomain) return `${registry}/${repository}${suffix}`;
      const short = repository.startsWith('library/') ? repository.slice('library/'.length) : repository;
      return `${short}${suffix}`;
    },
    toString() {
      return `${registry}/${repository}${suffix}`;
    },
  };
}

/** The same repository at another tag or digest (for pushing a manifest by digest, say). */
export function withReference(name: ImageName, ref: { tag?: string; digest?: string }): ImageName {
  return makeImageName(name.registry, name.repository, ref.tag, ref.digest);
}
