import { InvalidArgumentError } from '../../../proto/errors.js';
import type { ExecOp__Output } from '../../../proto/generated/pb/ExecOp.js';
import type { FileOp__Output } from '../../../proto/generated/pb/FileOp.js';
import type { MergeOp__Output } from '../../../proto/generated/pb/MergeOp.js';
import type { Platform__Output } from '../../../proto/generated/pb/Platform.js';
import type { ContentHashCache } from '../../../worker/fs/content-hash.js';
import { isLlbVertexOp } from '../llb-types.js';
import type { RefManager, ResolvedOp, Vertex } from '../types.js';
import type { ExecOpFactory } from './exec-op.js';
import { fileOp } from './file-op.js';
import { mergeOp } from './merge-op.js';
import { unsupportedOp } from './unsupported-op.js';

/** A source scheme (`local`, `docker-image`, …) registered by whoever implements it. */
export interface SourceResolver {
  resolve(identifier: string, attrs: Record<string, string>): ResolvedOp;
}

export interface OpResolverDeps {
  readonly refs: RefManager;
  /** Keyed by scheme without `://`: `local`, `docker-image`, `git`, `http`, `https`, `oci-layout`. */
  readonly sources: ReadonlyMap<string, SourceResolver>;
  readonly hashCache: ContentHashCache;
  /** Runs `exec` ops (createExecOp); without it RUN is reported as unsupported. */
  readonly exec?: ExecOpFactory;
}

const knownSchemes = new Set(['docker-image', 'git', 'http', 'https', 'oci-layout', 'local']);

/** Binds each LLB vertex to the code that runs it (BuildKit's llbsolver/ops). */
export function createOpResolver(deps: OpResolverDeps): (vertex: Vertex) => ResolvedOp {
  return (vertex) => {
    if (!isLlbVertexOp(vertex.op)) throw new InvalidArgumentError(`vertex ${vertex.digest} is not an LLB op`);
    const { op } = vertex.op;
    const numInputs = op.inputs.length;
    const kind =
      op.op ?? (op.source ? 'source' : op.file ? 'file' : op.exec ? 'exec' : op.merge ? 'merge' : undefined);
    switch (kind) {
      case 'source': {
        const src = op.source;
        if (!src) throw new InvalidArgumentError(`vertex ${vertex.digest}: empty source op`);
        const idx = src.identifier.indexOf('://');
        if (idx <= 0)
          throw new InvalidArgumentError(`invalid source identifier ${JSON.stringify(src.identifier)}`);
        const scheme = src.identifier.slice(0, idx);
        const resolver = deps.sources.get(scheme);
        if (resolver) return resolver.resolve(src.identifier, { ...(src.attrs ?? {}) });
        if (knownSchemes.has(scheme))
          return unsupportedOp(`${scheme} sources are not supported yet (${src.identifier})`);
        throw new InvalidArgumentError(`unknown source type ${JSON.stringify(scheme)} in ${src.identifier}`);
      }
      // llb-types' PbOp is a structural subset; the object is the full decoded pb.Op (proto-loader __Output).
      case 'file':
        return fileOp(op.file as unknown as FileOp__Output, numInputs, deps, vertex.name);
      case 'merge':
        return mergeOp(op.merge as unknown as MergeOp__Output, numInputs, deps.refs, vertex.name);
      case 'exec':
        if (!deps.exec)
          return unsupportedOp(`RUN is not supported yet: needs the containers issue (${vertex.name})`);
        return deps.exec(op.exec as unknown as ExecOp__Output, {
          numInputs,
          platform: (op as { platform?: Platform__Output | null }).platform ?? null,
          name: vertex.name,
        });
      case 'diff':
        return unsupportedOp(`diff ops are not supported yet (${vertex.name})`);
      case 'build':
        return unsupportedOp(`build ops are not supported yet (${vertex.name})`);
      default:
        throw new InvalidArgumentError(`vertex ${vertex.digest} has no op (kind ${String(kind)})`);
    }
  };
}
