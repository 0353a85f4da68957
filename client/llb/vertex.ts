import type { PbInput, PbOp, PbOpMetadata } from './pb-types.js';
import type { Platform } from './platform.js';

/** One output of a vertex: what a State points at. */
export interface Output {
  readonly vertex: Vertex;
  readonly index: number;
}

export interface MarshalContext {
  /** The pb.Input (digest + index) of an output already marshaled (inputs are marshaled first). */
  input(output: Output): PbInput;
  /** Default platform of the definition (ops without their own platform get this one). */
  readonly platform: Platform;
  /** `local.unique` for local sources without a session. */
  readonly localUniqueId: string;
}

/** A node of the LLB graph. Immutable; marshaled once per definition. */
export interface Vertex {
  /** Outputs this vertex reads, in BuildKit's traversal order (marshaled before this vertex). */
  readonly inputs: readonly Output[];
  marshal(ctx: MarshalContext): { op: PbOp; metadata: PbOpMetadata };
}
