import { InvalidArgumentError } from '../../proto/errors.js';
import { buildMetadata, type OpOptions } from './op-options.js';
import type { PbOp, PbOpMetadata } from './pb-types.js';
import { platformToPb } from './platform.js';
import { State } from './state.js';
import type { MarshalContext, Output, Vertex } from './vertex.js';

/** A SourceOp: no inputs, one output. */
export class SourceVertex implements Vertex {
  readonly identifier: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly #opts: OpOptions | undefined;
  readonly #caps: readonly string[];
  /** Only image (and oci-layout) sources depend on the platform. */
  readonly #platformSpecific: boolean;
  readonly inputs: readonly Output[] = [];

  constructor(
    identifier: string,
    attrs: Readonly<Record<string, string>>,
    opts: OpOptions | undefined,
    caps: readonly string[],
    platformSpecific: boolean,
  ) {
    this.identifier = identifier;
    this.attrs = attrs;
    this.#opts = opts;
    this.#caps = caps;
    this.#platformSpecific = platformSpecific;
  }

  marshal(ctx: MarshalContext): { op: PbOp; metadata: PbOpMetadata } {
    const attrs: Record<string, string> = { ...this.attrs };
    const caps = [...this.#caps];
    if (this.identifier.startsWith('local://') && attrs['local.session'] === undefined) {
      attrs['local.unique'] = ctx.localUniqueId;
      caps.push('source.local.unique');
    }
    const op: PbOp = { source: { identifier: this.identifier } };
    if (Object.keys(attrs).length > 0) op.source = { identifier: this.identifier, attrs };
    if (this.#platformSpecific) op.platform = platformToPb(this.#opts?.platform ?? ctx.platform);
    return { op, metadata: buildMetadata(this.#opts, caps) };
  }
}

export interface LocalOptions extends OpOptions {
  readonly sessionId?: string;
  readonly includePatterns?: readonly string[];
  readonly excludePatterns?: readonly string[];
  readonly followPaths?: readonly string[];
  readonly sharedKeyHint?: string;
  readonly differ?: 'none' | 'metadata';
}

/** A directory the client sends through the session (`local://<name>`). */
export function local(name: string, opts: LocalOptions = {}): State {
  const attrs: Record<string, string> = {};
  const caps = ['source.local'];
  if (opts.sessionId) {
    attrs['local.session'] = opts.sessionId;
    caps.push('source.local.sessionid');
  }
  if (opts.includePatterns?.length) {
    attrs['local.includepattern'] = JSON.stringify(opts.includePatterns);
    caps.push('source.local.includepatterns');
  }
  if (opts.followPaths?.length) {
    attrs['local.followpaths'] = JSON.stringify(opts.followPaths);
    caps.push('source.local.followpaths');
  }
  if (opts.excludePatterns?.length) {
    attrs['local.excludepatterns'] = JSON.stringify(opts.excludePatterns);
    caps.push('source.local.excludepatterns');
  }
  if (opts.sharedKeyHint) {
    attrs['local.sharedkeyhint'] = opts.sharedKeyHint;
    caps.push('source.local.sharedkeyhint');
  }
  if (opts.differ) {
    attrs['local.differ'] = opts.differ;
    caps.push('source.local.differ');
  }
  const vertex = new SourceVertex(`local://${name}`, attrs, opts, caps, false);
  return new State({ vertex, index: 0 });
}

export interface ImageOptions extends OpOptions {
  readonly resolveMode?: 'default' | 'pull' | 'local';
}

/** A registry image (`docker-image://<normalized ref>`); resolving its config is the caller's job. */
export function image(ref: string, opts: ImageOptions = {}): State {
  const attrs: Record<string, string> = {};
  const caps = ['source.image'];
  if (opts.resolveMode && opts.resolveMode !== 'default') {
    attrs['image.resolvemode'] = opts.resolveMode;
    caps.push('source.image.resolvemode');
  }
  const vertex = new SourceVertex(`docker-image://${normalizeImageRef(ref)}`, attrs, opts, caps, true);
  const st = new State({ vertex, index: 0 });
  return opts.platform ? st.platform(opts.platform) : st;
}

/** docker's ParseNormalizedNamed + TagNameOnly: `alpine` → `docker.io/library/alpine:latest`. */
export function normalizeImageRef(ref: string): string {
  const at = ref.indexOf('@');
  const namePart = at >= 0 ? ref.slice(0, at) : ref;
  const digest = at >= 0 ? ref.slice(at) : '';
  const slash = namePart.lastIndexOf('/');
  const colon = namePart.lastIndexOf(':');
  const hasTag = colon > slash;
  let name = hasTag ? namePart.slice(0, colon) : namePart;
  const tag = hasTag ? namePart.slice(colon) : '';
  if (name === '' || name !== name.toLowerCase() || /\s/.test(ref)) {
    throw new InvalidArgumentError(`invalid reference format: ${JSON.stringify(ref)}`);
  }
  const first = name.split('/')[0] ?? '';
  const hasDomain =
    name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasDomain) name = `docker.io/${name}`;
  if (name.startsWith('docker.io/') && name.split('/').length === 2) {
    name = `docker.io/library/${name.slice('docker.io/'.length)}`;
  }
  return name + (tag || (digest ? '' : ':latest')) + digest;
}
