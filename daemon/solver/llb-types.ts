/**
 * The parts of decoded LLB messages the loader reads. Structural subsets of what
 * `decodeMessage('pb.Op', …)` returns (proto-loader `__Output` shape), so the generated
 * `Op__Output` / `OpMetadata__Output` types are assignable to them.
 */
export interface PbInput {
  readonly digest: string;
  readonly index: number | bigint | string;
}

export interface PbOp {
  readonly inputs: readonly PbInput[];
  /** Name of the set oneof member; absent on the terminal op. */
  readonly op?: string | null;
  readonly source?: { readonly identifier: string; readonly attrs?: Readonly<Record<string, string>> } | null;
  readonly exec?: {
    readonly meta?: { readonly args?: readonly string[] } | null;
    readonly mounts?: readonly { readonly output?: number | bigint | string }[];
  } | null;
  readonly file?: {
    readonly actions?: readonly {
      readonly output?: number | bigint | string;
      readonly action?: string | null;
      readonly copy?: { readonly src?: string; readonly dest?: string } | null;
      readonly mkfile?: { readonly path?: string } | null;
      readonly mkdir?: { readonly path?: string } | null;
      readonly rm?: { readonly path?: string } | null;
      readonly symlink?: { readonly oldpath?: string; readonly newpath?: string } | null;
    }[];
  } | null;
  readonly merge?: { readonly inputs?: readonly unknown[] } | null;
  readonly diff?: unknown;
  readonly build?: unknown;
}

export interface PbOpMetadata {
  readonly ignore_cache?: boolean;
  readonly description?: Readonly<Record<string, string>>;
  readonly [field: string]: unknown;
}

/** Vertex.op for vertices made by loadDefinition: what ops/ resolves into a ResolvedOp. */
export interface LlbVertexOp {
  readonly kind: 'llb';
  /** The decoded pb.Op. */
  readonly op: PbOp;
  /** OpMetadata for this digest ({} when the definition had none). */
  readonly metadata: PbOpMetadata;
  /** The op's bytes exactly as received; the vertex digest is their sha256. */
  readonly bytes: Uint8Array;
}

export function isLlbVertexOp(value: unknown): value is LlbVertexOp {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'llb';
}
