import { decodeMessage, digestOf } from '../../proto/codec.js';
import { InvalidArgumentError } from '../../proto/errors.js';
import type { LlbVertexOp, PbOp, PbOpMetadata } from './llb-types.js';
import type { Edge, Vertex } from './types.js';

export interface LlbDefinition {
  readonly def: readonly Uint8Array[];
  readonly metadata: Readonly<Record<string, PbOpMetadata>>;
}

interface Entry {
  readonly index: number;
  readonly digest: string;
  readonly bytes: Uint8Array;
  readonly op: PbOp;
}

/**
 * Turns an LLB Definition into the solver's graph (BuildKit's llbsolver loadLLB). Each op's digest is
 * the sha256 of its bytes as received; the last op is the terminal whose first input is the result.
 * Anything malformed is rejected up front with the offending op's digest and index.
 */
export interface LoadOptions {
  /**
   * How an op's digest is computed; sha256 of its bytes unless a caller (a source policy rewriting
   * ops, or a test needing digests that collide into a cycle) says otherwise.
   */
  readonly digestOf?: (bytes: Uint8Array) => string;
}

export function loadDefinition(def: LlbDefinition, opts: LoadOptions = {}): Edge {
  const digestFn = opts.digestOf ?? digestOf;
  if (def.def.length < 2) {
    throw new InvalidArgumentError(
      `invalid LLB definition: expected at least 2 ops (a terminal op last), got ${def.def.length}`,
    );
  }
  const byDigest = new Map<string, Entry>();
  def.def.forEach((bytes, index) => {
    const digest = digestFn(bytes);
    const existing = byDigest.get(digest);
    if (existing) {
      throw new InvalidArgumentError(
        `invalid LLB definition: op ${index} (${digest}) duplicates op ${existing.index}`,
      );
    }
    let op: PbOp;
    try {
      op = decodeMessage<PbOp>('pb.Op', bytes);
    } catch (err) {
      throw new InvalidArgumentError(`invalid LLB definition: op ${index} (${digest}) is not a valid pb.Op`, {
        cause: err,
      });
    }
    byDigest.set(digest, { index, digest, bytes, op });
  });

  const last = def.def.length - 1;
  for (const entry of byDigest.values()) {
    const hasOp = typeof entry.op.op === 'string' && entry.op.op !== '';
    if (!hasOp && entry.index !== last) {
      throw new InvalidArgumentError(
        `invalid LLB definition: op ${entry.index} (${entry.digest}) has no operation but is not the last op`,
      );
    }
    for (const [i, input] of entry.op.inputs.entries()) {
      const target = byDigest.get(input.digest);
      if (!target) {
        throw new InvalidArgumentError(
          `invalid LLB definition: op ${entry.index} (${entry.digest}) input ${i} refers to unknown op ${input.digest}`,
        );
      }
      const outIndex = Number(input.index);
      const outputs = outputCount(target.op);
      if (!Number.isSafeInteger(outIndex) || outIndex < 0 || (outputs !== undefined && outIndex >= outputs)) {
        throw new InvalidArgumentError(
          `invalid LLB definition: op ${entry.index} (${entry.digest}) input ${i} uses output ${String(input.index)} of op ${target.index} (${target.digest}), which has ${outputs ?? 'unknown'} output(s)`,
        );
      }
    }
  }

  const terminalBytes = def.def[last];
  const terminal = terminalBytes === undefined ? undefined : byDigest.get(digestFn(terminalBytes));
  if (!terminal) throw new InvalidArgumentError('invalid LLB definition: missing terminal op');
  if (typeof terminal.op.op === 'string' && terminal.op.op !== '') {
    throw new InvalidArgumentError(
      `invalid LLB definition: last op ${terminal.index} (${terminal.digest}) must be a terminal op with no operation`,
    );
  }
  const result = terminal.op.inputs[0];
  if (!result) {
    throw new InvalidArgumentError(
      `invalid LLB definition: terminal op ${terminal.index} (${terminal.digest}) has no input`,
    );
  }

  const vertices = new Map<string, Vertex>();
  const visiting = new Set<string>();
  const build = (entry: Entry): Vertex => {
    const done = vertices.get(entry.digest);
    if (done) return done;
    if (visiting.has(entry.digest)) {
      throw new InvalidArgumentError(
        `invalid LLB definition: op ${entry.index} (${entry.digest}) is part of a cycle`,
      );
    }
    visiting.add(entry.digest);
    const inputs: Edge[] = entry.op.inputs.map((input) => {
      const target = byDigest.get(input.digest);
      if (!target) throw new InvalidArgumentError(`invalid LLB definition: unknown op ${input.digest}`);
      return { vertex: build(target), index: Number(input.index) };
    });
    visiting.delete(entry.digest);
    const metadata: PbOpMetadata = def.metadata[entry.digest] ?? {};
    const op: LlbVertexOp = { kind: 'llb', op: entry.op, metadata, bytes: entry.bytes };
    const vertex: Vertex = {
      digest: entry.digest,
      name: vertexName(entry.op, metadata),
      inputs,
      ignoreCache: metadata.ignore_cache === true,
      op,
    };
    vertices.set(entry.digest, vertex);
    return vertex;
  };
  const target = byDigest.get(result.digest);
  if (!target) throw new InvalidArgumentError(`invalid LLB definition: unknown op ${result.digest}`);
  // Reject cycles anywhere in the definition, not only those reachable from the result.
  for (const entry of byDigest.values()) if (entry !== terminal) build(entry);
  return { vertex: build(target), index: Number(result.index) };
}

/** Decodes a marshaled pb.Definition and loads it. */
export function loadDefinitionBytes(bytes: Uint8Array): Edge {
  let def: LlbDefinition;
  try {
    def = decodeMessage<LlbDefinition>('pb.Definition', bytes);
  } catch (err) {
    throw new InvalidArgumentError('invalid LLB definition: not a valid pb.Definition', { cause: err });
  }
  return loadDefinition(def);
}

/** How many outputs an op has, or undefined when the loader cannot tell (build ops). */
function outputCount(op: PbOp): number | undefined {
  switch (op.op) {
    case 'source':
    case 'merge':
    case 'diff':
      return 1;
    case 'exec':
      return 1 + Math.max(-1, ...(op.exec?.mounts ?? []).map((m) => Number(m.output ?? -1)));
    case 'file':
      return 1 + Math.max(-1, ...(op.file?.actions ?? []).map((a) => Number(a.output ?? -1)));
    case 'build':
      return undefined;
    default:
      return 0;
  }
}

/** The progress name: the frontend's custom name, else a summary of the op (as BuildKit shows it). */
function vertexName(op: PbOp, metadata: PbOpMetadata): string {
  const custom = metadata.description?.['llb.customname'];
  if (custom !== undefined && custom !== '') return custom;
  switch (op.op) {
    case 'source':
      return op.source?.identifier ?? 'source';
    case 'exec':
      return (op.exec?.meta?.args ?? []).join(' ');
    case 'file':
      return (op.file?.actions ?? [])
        .map((a) => {
          switch (a.action) {
            case 'copy':
              return `copy ${a.copy?.src ?? ''} ${a.copy?.dest ?? ''}`;
            case 'mkfile':
              return `mkfile ${a.mkfile?.path ?? ''}`;
            case 'mkdir':
              return `mkdir ${a.mkdir?.path ?? ''}`;
            case 'rm':
              return `rm ${a.rm?.path ?? ''}`;
            case 'symlink':
              return `symlink ${a.symlink?.oldpath ?? ''} -> ${a.symlink?.newpath ?? ''}`;
            default:
              return 'file';
          }
        })
        .join(', ');
    case 'merge':
      return `merge (${op.merge?.inputs?.length ?? 0} inputs)`;
    case 'diff':
      return 'diff';
    case 'build':
      return 'build';
    default:
      return String(op.op ?? '');
  }
}
