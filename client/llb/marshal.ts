import type { DefinitionBytes } from '../../frontends/types.js';
import { digestOf, encodeMessage } from '../../proto/codec.js';
import { mergeMetadata } from './op-options.js';
import type { PbInput, PbOpMetadata } from './pb-types.js';
import { defaultPlatform, type Platform } from './platform.js';
import type { State } from './state.js';
import type { Output, Vertex } from './vertex.js';

export interface MarshalOptions {
  /** Platform of platform-specific ops that set none themselves (default linux/amd64). */
  readonly platform?: Platform;
  /** `local.unique` of session-less local sources (BuildKit draws a random one per marshal). */
  readonly localUniqueId?: string;
}

/**
 * Encodes the graph behind `state` as a pb.Definition: ops in topological order (inputs first), each
 * encoded deterministically and listed once per digest, then the terminal op whose inputs[0] is the
 * result. A scratch state gives an empty definition.
 */
export function marshal(state: State, opts: MarshalOptions = {}): DefinitionBytes {
  return marshalWithDigests(state, opts).definition;
}

/** marshal, plus the digest each vertex of the graph got (what a source map is keyed by). */
export function marshalWithDigests(
  state: State,
  opts: MarshalOptions = {},
): { definition: DefinitionBytes; digests: ReadonlyMap<Vertex, string> } {
  const digests = new Map<Vertex, string>();
  const output = state.output;
  if (!output) return { definition: { def: [], metadata: {} }, digests };
  const seen = new Set<string>();
  const def: Uint8Array[] = [];
  const metadata: Record<string, PbOpMetadata> = {};
  const input = (o: Output): PbInput => {
    const digest = digests.get(o.vertex);
    if (digest === undefined) throw new Error('LLB input marshaled out of order');
    return o.index === 0 ? { digest } : { digest, index: o.index };
  };
  const ctx = {
    input,
    platform: opts.platform ?? state.getPlatform() ?? defaultPlatform,
    localUniqueId: opts.localUniqueId ?? 'kiln-local',
  };

  // Iterative post-order DFS: deep graphs (long Dockerfiles) must not hit the stack limit.
  const stack: { vertex: Vertex; next: number }[] = [{ vertex: output.vertex, next: 0 }];
  const onStack = new Set<Vertex>([output.vertex]);
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as { vertex: Vertex; next: number };
    const child = top.vertex.inputs[top.next];
    if (child) {
      top.next++;
      if (!digests.has(child.vertex)) {
        if (onStack.has(child.vertex)) throw new Error('LLB graph has a cycle');
        onStack.add(child.vertex);
        stack.push({ vertex: child.vertex, next: 0 });
      }
      continue;
    }
    stack.pop();
    onStack.delete(top.vertex);
    const { op, metadata: md } = top.vertex.marshal(ctx);
    const bytes = encodeMessage('pb.Op', op);
    const digest = digestOf(bytes);
    digests.set(top.vertex, digest);
    if (Object.keys(md).length > 0 || metadata[digest])
      metadata[digest] = mergeMetadata(metadata[digest], md);
    if (!seen.has(digest)) {
      seen.add(digest);
      def.push(bytes);
    }
  }

  const terminal = encodeMessage('pb.Op', { inputs: [input(output)] });
  const terminalDigest = digestOf(terminal);
  def.push(terminal);
  const caps: Record<string, boolean> = { constraints: true, platform: true };
  for (const md of Object.values(metadata)) {
    if (md.ignore_cache) caps['meta.ignorecache'] = true;
    if (md.description) caps['meta.description'] = true;
    if (md.export_cache) caps['meta.exportcache'] = true;
    if (md.progress_group) caps['meta.progressgroup'] = true;
  }
  metadata[terminalDigest] = { ...(metadata[terminalDigest] ?? {}), caps };
  return { definition: { def, metadata }, digests };
}
