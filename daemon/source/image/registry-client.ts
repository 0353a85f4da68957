import { createHash } from 'node:crypto';
import { ErrorCodes, NotFoundError, throwIfAborted } from '../../../proto/errors.js';
import type { BlobInfo, ContentStore } from '../../../worker/content/types.js';
import type { RegistryConfig } from '../../config/config.js';
import { type HttpResponse, httpRequest } from './http-request.js';
import { DockerHubApiHost, DockerHubDomain, type ImageName } from './reference.js';
import { RegistryError, authRequired, imageNotFound, isRetryable, notAManifest } from './registry-errors.js';

/**
 * A Docker Registry HTTP API v2 client (the subset a builder needs): resolve a tag to the manifest
 * for one platform, fetch blobs into the content store, push blobs and manifests. Auth follows the
 * registry's `WWW-Authenticate` challenge: Basic, or Bearer with a token from the realm (anonymous
 * when there are no credentials); tokens are cached per host and scope.
 */

export const MediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

const manifestAccept = [
  MediaTypes.ociIndex,
  MediaTypes.dockerList,
  MediaTypes.ociManifest,
  MediaTypes.dockerManifest,
].join(', ');

/** Credentials for a registry host, or undefined for anonymous. */
export type RegistryAuth = (
  host: string,
  signal: AbortSignal,
) => Promise<{ username: string; secret: string } | undefined>;

export const anonymousAuth: RegistryAuth = () => Promise.resolve(undefined);

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: Platform;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageManifest {
  readonly schemaVersion: number;
  readonly mediaType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

export interface ResolvedImage {
  /** Digest of the platform manifest (not of an index). */
  readonly digest: string;
  readonly mediaType: string;
  readonly manifest: ImageManifest;
  readonly manifestBytes: Uint8Array;
  readonly config: Uint8Array;
  readonly configDescriptor: Descriptor;
}

export interface RegistryClientOptions {
  /** `[registry."host"]` settings, keyed by host as written in image names (`docker.io`, `host:port`). */
  readonly hosts: ReadonlyMap<string, RegistryConfig>;
  readonly log?: (msg: string) => void;
  /** Attempts per request for 5xx and dropped connections; default 4. */
  readonly attempts?: number;
  /** First backoff delay in ms, doubled per attempt; default 200. */
  readonly backoffMs?: number;
}

interface Endpoint {
  /** Host as the API sees it (`registry-1.docker.io` for Docker Hub). */
  readonly host: string;
  readonly base: URL;
  readonly insecure: boolean;
}

type Action = 'pull' | 'push';

interface CachedToken {
  readonly header: string;
  readonly expiresAt: number;
}

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function isLocalhost(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Parses `Bearer realm="…",service="…",scope="…"` (several challenges may be comma-joined). */
export function parseChallenges(header: string): { scheme: string; params: Record<string, string> }[] {
  const out: { scheme: string; params: Record<string, string> }[] = [];
  const re = /([A-Za-z][\w-]*)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*))?/g;
  let current: { scheme: string; params: Record<string, string> } | undefined;
  for (const m of header.matchAll(re)) {
    const key = m[1] as string;
    const value = m[2];
    if (value === undefined) {
      current = { scheme: key, params: {} };
      out.push(current);
    } else if (current) {
      current.params[key.toLowerCase()] = value.startsWith('"')
        ? value.slice(1, -1).replace(/\\(.)/g, '$1')
        : value;
    }
  }
  return out;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new RegistryError(
      ErrorCodes.InvalidArgument,
      `${what} is not valid JSON: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asDescriptor(v: unknown, what: string): Descriptor {
  if (
    !isRecord(v) ||
    typeof v.digest !== 'string' ||
    typeof v.size !== 'number' ||
    !/^sha256:[a-f0-9]{64}$/.test(v.digest)
  ) {
    throw new RegistryError(ErrorCodes.InvalidArgument, `${what}: invalid descriptor ${JSON.stringify(v)}`);
  }
  const d: { -readonly [K in keyof Descriptor]: Descriptor[K] } = {
    mediaType: typeof v.mediaType === 'string' ? v.mediaType : '',
    digest: v.digest,
    size: v.size,
  };
  if (
    isRecord(v.platform) &&
    typeof v.platform.os === 'string' &&
    typeof v.platform.architecture === 'string'
  ) {
    d.platform = {
      os: v.platform.os,
      architecture: v.platform.architecture,
      ...(typeof v.platform.variant === 'string' ? { variant: v.platform.variant } : {}),
    };
  }
  return d;
}

function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

function normalizeVariant(arch: string, variant: string | undefined): string {
  if (arch === 'arm64' && (variant === undefined || variant === '')) return 'v8';
  return variant ?? '';
}

/** The index entry for `want`: exact os/arch, and variant when one was asked for. */
export function selectPlatform(entries: readonly Descriptor[], want: Platform): Descriptor | undefined {
  const candidates = entries.filter(
    (e) => e.platform && e.platform.os === want.os && e.platform.architecture === want.architecture,
  );
  if (want.variant !== undefined && want.variant !== '') {
    const v = normalizeVariant(want.architecture, want.variant);
    return candidates.find((e) => normalizeVariant(want.architecture, e.platform?.variant) === v);
  }
  return (
    candidates.find(
      (e) =>
        normalizeVariant(want.architecture, e.platform?.variant) ===
        normalizeVariant(want.architecture, undefined),
    ) ?? candidates[0]
  );
}

export class RegistryClient {
  private readonly hosts: ReadonlyMap<string, RegistryConfig>;
  private readonly log: (msg: string) => void;
  private readonly attempts: number;
  private readonly backoffMs: number;
  /** `host scope` → Authorization header */
  private readonly tokens = new Map<string, CachedToken>();
  /** host → Authorization header for registries that asked for Basic */
  private readonly basic = new Map<string, string>();

  constructor(opts: RegistryClientOptions) {
    this.hosts = opts.hosts;
    this.log = opts.log ?? (() => undefined);
    this.attempts = Math.max(1, opts.attempts ?? 4);
    this.backoffMs = opts.backoffMs ?? 200;
  }

  private endpoint(host: string): Endpoint {
    const apiHost = host === DockerHubDomain ? DockerHubApiHost : host;
    const cfg = this.hosts.get(host) ?? this.hosts.get(apiHost);
    const plain = cfg?.http === true || isLocalhost(apiHost);
    return {
      host: apiHost,
      base: new URL(`${plain ? 'http' : 'https'}://${apiHost}/v2/`),
      insecure: cfg?.insecure === true,
    };
  }

  /** Mirrors first (pulls only), then the registry itself. */
  private endpoints(name: ImageName, action: Action): Endpoint[] {
    const main = this.endpoint(name.registry);
    if (action === 'push') return [main];
    const cfg = this.hosts.get(name.registry) ?? this.hosts.get(main.host);
    const mirrors = (cfg?.mirrors ?? []).map((m) =>
      this.endpoint(m.replace(/^https?:\/\//, '').replace(/\/+$/, '')),
    );
    return [...mirrors, main];
  }

  private scope(name: ImageName, action: Action): string {
    return `repository:${name.repository}:${action === 'push' ? 'pull,push' : 'pull'}`;
  }

  /**
   * Sends a request with whatever auth the host wants: tries the cached header, answers one 401
   * challenge, and retries (with backoff) 5xx answers and dropped connections.
   */
  private async send(
    ep: Endpoint,
    req: {
      method: 'GET' | 'HEAD' | 'POST' | 'PUT';
      url: URL;
      headers?: Record<string, string>;
      body?: () => Uint8Array | AsyncIterable<Uint8Array>;
    },
    scope: string,
    signal: AbortSignal,
    auth: RegistryAuth,
  ): Promise<HttpResponse> {
    let lastErr: unknown;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      throwIfAborted(signal);
      if (attempt > 0) await sleep(this.backoffMs * 2 ** (attempt - 1), signal);
      try {
        let res = await this.once(ep, req, scope, signal);
        if (res.status === 401) {
          const challenge = headerString(res.headers['www-authenticate']) ?? '';
          res.discard();
          await this.authorize(ep, challenge, scope, signal, auth);
          res = await this.once(ep, req, scope, signal);
        }
        if (res.status >= 500) {
          res.discard();
          throw new RegistryError(
            ErrorCodes.Unavailable,
            `${req.method} ${req.url.pathname} on ${ep.host}: HTTP ${res.status}`,
            { status: res.status, retryable: true },
          );
        }
        return res;
      } catch (err) {
        lastErr = err;
        if (!isRetryable(err) || signal.aborted) throw err;
        this.log(`registry ${ep.host}: ${(err as Error).message}; retrying`);
      }
    }
    throw lastErr;
  }

  private async once(
    ep: Endpoint,
    req: {
      method: 'GET' | 'HEAD' | 'POST' | 'PUT';
      url: URL;
      headers?: Record<string, string>;
      body?: () => Uint8Array | AsyncIterable<Uint8Array>;
    },
    scope: string,
    signal: AbortSignal,
  ): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...(req.headers ?? {}) };
    const token = this.tokens.get(`${ep.host} ${scope}`);
    if (token && token.expiresAt > Date.now()) headers.authorization = token.header;
    else if (this.basic.has(ep.host)) headers.authorization = this.basic.get(ep.host) as string;
    let url = req.url;
    for (let redirects = 0; ; redirects++) {
      const res = await httpRequest(
        {
          method: req.method,
          url,
          headers,
          ...(req.body ? { body: req.body() } : {}),
          insecure: ep.insecure,
        },
        signal,
      );
      const location = headerString(res.headers.location);
      // Blob GETs are often redirected to storage; auth must not follow to another host.
      if (
        (res.status === 307 || res.status === 302 || res.status === 301 || res.status === 303) &&
        location &&
        req.method !== 'PUT' &&
        req.method !== 'POST'
      ) {
        res.discard();
        if (redirects >= 5)
          throw new RegistryError(ErrorCodes.Unavailable, `too many redirects from ${ep.host}`);
        const next = new URL(location, url);
        if (next.host !== url.host) delete headers.authorization;
        url = next;
        continue;
      }
      return res;
    }
  }

  private async authorize(
    ep: Endpoint,
    challengeHeader: string,
    scope: string,
    signal: AbortSignal,
    auth: RegistryAuth,
  ): Promise<void> {
    const challenges = parseChallenges(challengeHeader);
    const bearer = challenges.find((c) => c.scheme.toLowerCase() === 'bearer');
    const basic = challenges.find((c) => c.scheme.toLowerCase() === 'basic');
    const creds = await auth(ep.host, signal);
    if (bearer?.params.realm) {
      const realm = new URL(bearer.params.realm);
      if (bearer.params.service) realm.searchParams.set('service', bearer.params.service);
      realm.searchParams.append('scope', scope);
      const headers: Record<string, string> = {};
      if (creds)
        headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.secret}`).toString('base64')}`;
      const res = await httpRequest({ method: 'GET', url: realm, headers, insecure: ep.insecure }, signal);
      const body = await res.bytes(1 << 20);
      if (res.status === 401 || res.status === 403) return; // the retried request reports the denial
      if (res.status >= 500)
        throw new RegistryError(ErrorCodes.Unavailable, `token server ${realm.host}: HTTP ${res.status}`, {
          status: res.status,
          retryable: true,
        });
      if (res.status !== 200)
        throw new RegistryError(ErrorCodes.Unavailable, `token server ${realm.host}: HTTP ${res.status}`, {
          status: res.status,
        });
      const json = parseJson(body, `token from ${realm.host}`);
      const token = isRecord(json)
        ? typeof json.token === 'string'
          ? json.token
          : typeof json.access_token === 'string'
            ? json.access_token
            : undefined
        : undefined;
      if (!token)
        throw new RegistryError(ErrorCodes.Unavailable, `token server ${realm.host} returned no token`);
      const expiresIn =
        isRecord(json) && typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : 60;
      // Renew a little early so a token never expires in flight.
      this.tokens.set(`${ep.host} ${scope}`, {
        header: `Bearer ${token}`,
        expiresAt: Date.now() + Math.max(1, expiresIn - 10) * 1000,
      });
      return;
    }
    if (basic && creds) {
      this.basic.set(ep.host, `Basic ${Buffer.from(`${creds.username}:${creds.secret}`).toString('base64')}`);
    }
  }

  private repoUrl(ep: Endpoint, name: ImageName, suffix: string): URL {
    return new URL(`${name.repository}/${suffix}`, ep.base);
  }

  /** GETs a manifest by tag or digest from the first endpoint that has it. */
  private async getManifest(
    name: ImageName,
    reference: string,
    signal: AbortSignal,
    auth: RegistryAuth,
  ): Promise<{ bytes: Uint8Array; mediaType: string; digest: string }> {
    let lastErr: unknown;
    for (const ep of this.endpoints(name, 'pull')) {
      try {
        const res = await this.send(
          ep,
          {
            method: 'GET',
            url: this.repoUrl(ep, name, `manifests/${reference}`),
            headers: { accept: manifestAccept },
          },
          this.scope(name, 'pull'),
          signal,
          auth,
        );
        if (res.status === 401 || res.status === 403) {
          res.discard();
          throw authRequired('pull', name.familiar(), res.status);
        }
        if (res.status === 404) {
          res.discard();
          throw imageNotFound(name.familiar());
        }
        if (res.status !== 200) {
          res.discard();
          throw new RegistryError(
            ErrorCodes.Unavailable,
            `GET manifest ${name.familiar()}: HTTP ${res.status}`,
            {
              status: res.status,
            },
          );
        }
        const bytes = await res.bytes(8 << 20);
        const digest = sha256(bytes);
        if (reference.startsWith('sha256:') && reference !== digest) {
          throw new RegistryError(
            ErrorCodes.FailedPrecondition,
            `manifest for ${name.familiar()}: expected digest ${reference}, got ${digest}`,
          );
        }
        const contentType = (headerString(res.headers['content-type']) ?? '').split(';')[0]?.trim() ?? '';
        return { bytes, mediaType: contentType, digest };
      } catch (err) {
        lastErr = err;
        if (ep === this.endpoint(name.registry) || signal.aborted) throw err;
        this.log(`mirror ${ep.host} failed for ${name.familiar()}: ${(err as Error).message}`);
      }
    }
    throw lastErr;
  }

  /** Resolves a name to the manifest for `platform`, with its config blob. */
  async resolve(
    name: ImageName,
    platform: Platform,
    signal: AbortSignal,
    auth: RegistryAuth = anonymousAuth,
  ): Promise<ResolvedImage> {
    const first = await this.getManifest(name, name.digest ?? name.tag ?? 'latest', signal, auth);
    let doc = parseJson(first.bytes, `manifest of ${name.familiar()}`);
    let mediaType = this.mediaTypeOf(first.mediaType, doc, name);
    let bytes = first.bytes;
    let digest = first.digest;
    if (mediaType === MediaTypes.ociIndex || mediaType === MediaTypes.dockerList) {
      const entries = isRecord(doc) && Array.isArray(doc.manifests) ? doc.manifests : [];
      const descs = entries.map((e, i) => asDescriptor(e, `${name.familiar()} index entry ${i}`));
      const chosen = selectPlatform(descs, platform);
      if (!chosen) {
        const available = descs.filter((d) => d.platform).map((d) => formatPlatform(d.platform as Platform));
        throw new NotFoundError(
          `no match for platform ${formatPlatform(platform)} in ${name.familiar()}: the image has ${available.length ? available.join(', ') : 'no platforms listed'}`,
        );
      }
      const m = await this.getManifest(name, chosen.digest, signal, auth);
      bytes = m.bytes;
      digest = m.digest;
      doc = parseJson(bytes, `manifest ${chosen.digest} of ${name.familiar()}`);
      mediaType = this.mediaTypeOf(m.mediaType || chosen.mediaType, doc, name);
      if (mediaType !== MediaTypes.ociManifest && mediaType !== MediaTypes.dockerManifest)
        throw notAManifest(`${name.familiar()}@${chosen.digest}`, mediaType);
    }
    if (!isRecord(doc) || !Array.isArray(doc.layers) || doc.config === undefined)
      throw notAManifest(name.familiar(), mediaType);
    const manifest: ImageManifest = {
      schemaVersion: typeof doc.schemaVersion === 'number' ? doc.schemaVersion : 2,
      mediaType,
      config: asDescriptor(doc.config, `${name.familiar()} config`),
      layers: doc.layers.map((l, i) => asDescriptor(l, `${name.familiar()} layer ${i}`)),
    };
    const config = await this.getBlobBytes(name, manifest.config, signal, auth);
    return { digest, mediaType, manifest, manifestBytes: bytes, config, configDescriptor: manifest.config };
  }

  private mediaTypeOf(header: string, doc: unknown, name: ImageName): string {
    const field = isRecord(doc) && typeof doc.mediaType === 'string' ? doc.mediaType : '';
    let mt = field || header;
    if (!mt || mt === 'application/json' || mt === 'text/plain') {
      if (isRecord(doc) && Array.isArray(doc.manifests)) mt = MediaTypes.ociIndex;
      else if (isRecord(doc) && Array.isArray(doc.layers) && doc.config !== undefined)
        mt = MediaTypes.ociManifest;
    }
    if (mt === MediaTypes.dockerSchema1 || (isRecord(doc) && doc.schemaVersion === 1))
      throw new RegistryError(
        ErrorCodes.InvalidArgument,
        `${name.familiar()} uses Docker schema 1 manifests, which are not supported`,
      );
    const known: readonly string[] = [
      MediaTypes.ociIndex,
      MediaTypes.dockerList,
      MediaTypes.ociManifest,
      MediaTypes.dockerManifest,
    ];
    if (!known.includes(mt)) throw notAManifest(name.familiar(), mt || 'unknown');
    return mt;
  }

  private async openBlob(
    name: ImageName,
    desc: { digest: string },
    signal: AbortSignal,
    auth: RegistryAuth,
  ): Promise<HttpResponse> {
    let lastErr: unknown;
    for (const ep of this.endpoints(name, 'pull')) {
      try {
        const res = await this.send(
          ep,
          { method: 'GET', url: this.repoUrl(ep, name, `blobs/${desc.digest}`) },
          this.scope(name, 'pull'),
          signal,
          auth,
        );
        if (res.status === 401 || res.status === 403) {
          res.discard();
          throw authRequired('pull', name.familiar(), res.status);
        }
        if (res.status === 404) {
          res.discard();
          throw new RegistryError(
            ErrorCodes.NotFound,
            `blob ${desc.digest} not found in ${name.familiar()}`,
            {
              status: 404,
            },
          );
        }
        if (res.status !== 200) {
          res.discard();
          throw new RegistryError(ErrorCodes.Unavailable, `GET blob ${desc.digest}: HTTP ${res.status}`, {
            status: res.status,
          });
        }
        return res;
      } catch (err) {
        lastErr = err;
        if (ep === this.endpoint(name.registry) || signal.aborted) throw err;
        this.log(`mirror ${ep.host} failed for ${desc.digest}: ${(err as Error).message}`);
      }
    }
    throw lastErr;
  }

  private async getBlobBytes(
    name: ImageName,
    desc: Descriptor,
    signal: AbortSignal,
    auth: RegistryAuth,
  ): Promise<Uint8Array> {
    const res = await this.openBlob(name, desc, signal, auth);
    const bytes = await res.bytes(Math.max(desc.size, 0) + 1);
    const got = sha256(bytes);
    if (got !== desc.digest || bytes.byteLength !== desc.size) {
      throw new RegistryError(
        ErrorCodes.FailedPrecondition,
        `blob ${desc.digest} of ${name.familiar()}: expected ${desc.size} bytes with that digest, got ${bytes.byteLength} bytes with ${got}`,
      );
    }
    return bytes;
  }

  /** Downloads a blob into the store (verified); nothing happens when the store already has it. */
  async fetchBlob(
    name: ImageName,
    desc: { digest: string; size: number },
    store: ContentStore,
    signal: AbortSignal,
    auth: RegistryAuth = anonymousAuth,
    onProgress?: (current: number, total: number) => void,
  ): Promise<BlobInfo> {
    const have = await store.info(desc.digest);
    if (have && have.size === desc.size) {
      onProgress?.(desc.size, desc.size);
      return have;
    }
    let lastErr: unknown;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      if (attempt > 0) await sleep(this.backoffMs * 2 ** (attempt - 1), signal);
      try {
        const res = await this.openBlob(name, desc, signal, auth);
        let current = 0;
        const body = res.body;
        const counted = (async function* () {
          for await (const chunk of body) {
            current += chunk.byteLength;
            onProgress?.(current, desc.size);
            yield chunk;
          }
        })();
        return await store.write(counted, { digest: desc.digest, size: desc.size }, signal);
      } catch (err) {
        lastErr = err;
        // A connection dropped mid-body is worth another go; a refusal or bad bytes is not.
        if (!isRetryable(err) || signal.aborted) throw err;
        this.log(`fetching ${desc.digest}: ${(err as Error).message}; retrying`);
      }
    }
    throw lastErr;
  }

  /** Uploads a blob unless the registry has it already (HEAD first, then POST + monolithic PUT). */
  async pushBlob(
    name: ImageName,
    desc: { digest: string; size: number; mediaType?: string },
    open: () => AsyncIterable<Uint8Array>,
    signal: AbortSignal,
    auth: RegistryAuth = anonymousAuth,
    onProgress?: (current: number, total: number) => void,
  ): Promise<'exists' | 'uploaded'> {
    const ep = this.endpoint(name.registry);
    const scope = this.scope(name, 'push');
    const head = await this.send(
      ep,
      { method: 'HEAD', url: this.repoUrl(ep, name, `blobs/${desc.digest}`) },
      scope,
      signal,
      auth,
    );
    head.discard();
    if (head.status === 200) {
      onProgress?.(desc.size, desc.size);
      return 'exists';
    }
    if (head.status === 401 || head.status === 403) throw authRequired('push', name.familiar(), head.status);
    const start = await this.send(
      ep,
      { method: 'POST', url: this.repoUrl(ep, name, 'blobs/uploads/'), headers: { 'content-length': '0' } },
      scope,
      signal,
      auth,
    );
    start.discard();
    if (start.status === 401 || start.status === 403)
      throw authRequired('push', name.familiar(), start.status);
    const location = headerString(start.headers.location);
    if (start.status !== 202 || !location)
      throw new RegistryError(
        ErrorCodes.Unavailable,
        `starting upload to ${name.familiar()}: HTTP ${start.status}`,
        {
          status: start.status,
        },
      );
    const url = new URL(location, start.url);
    url.searchParams.set('digest', desc.digest);
    const put = await this.send(
      ep,
      {
        method: 'PUT',
        url,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
        body: () => {
          const src = open();
          let current = 0;
          return (async function* () {
            for await (const chunk of src) {
              current += chunk.byteLength;
              onProgress?.(current, desc.size);
              yield chunk;
            }
          })();
        },
      },
      scope,
      signal,
      auth,
    );
    const text = Buffer.from(await put.bytes(1 << 20)).toString('utf8');
    if (put.status === 401 || put.status === 403) throw authRequired('push', name.familiar(), put.status);
    if (put.status !== 201)
      throw new RegistryError(
        ErrorCodes.Unavailable,
        `uploading ${desc.digest} to ${name.familiar()}: HTTP ${put.status} ${text.slice(0, 300)}`,
        { status: put.status },
      );
    return 'uploaded';
  }

  /** PUTs a manifest (or index) under a tag or digest; returns its digest. */
  async pushManifest(
    name: ImageName,
    reference: string,
    body: Uint8Array,
    mediaType: string,
    signal: AbortSignal,
    auth: RegistryAuth = anonymousAuth,
  ): Promise<string> {
    const ep = this.endpoint(name.registry);
    const res = await this.send(
      ep,
      {
        method: 'PUT',
        url: this.repoUrl(ep, name, `manifests/${reference}`),
        headers: { 'content-type': mediaType },
        body: () => body,
      },
      this.scope(name, 'push'),
      signal,
      auth,
    );
    const text = Buffer.from(await res.bytes(1 << 20)).toString('utf8');
    if (res.status === 401 || res.status === 403) throw authRequired('push', name.familiar(), res.status);
    if (res.status !== 201)
      throw new RegistryError(
        ErrorCodes.Unavailable,
        `pushing manifest ${name.familiar()}: HTTP ${res.status} ${text.slice(0, 300)}`,
        { status: res.status },
      );
    return headerString(res.headers['docker-content-digest']) ?? sha256(body);
  }
}
