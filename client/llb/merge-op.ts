import { buildMetadata, type OpOptions } from './op-options.js';
import type { PbOp, PbOpMetadata } from './pb-types.js';
import { State } from './state.js';
import type { MarshalContext, Output, Vertex } from './vertex.js';

class MergeVertex implements Vertex {
  readonly inputs: readonly Output[];
  readonly #opts: OpOptions | undefined;

  constructor(inputs: readonly Output[], opts: OpOptions | undefined) {
    this.inputs = inputs;
    this.#opts = opts;
  }

  marshal(ctx: MarshalContext): { op: PbOp; metadata: PbOpMetadata } {
    const op: PbOp = {
      inputs: this.inputs.map((o) => ctx.input(o)),
      merge: { inputs: this.inputs.map((_, i) => (i === 0 ? {} : { input: i })) },
    };
    return { op, metadata: buildMetadata(this.#opts, ['mergeop']) };
  }
}

/**
 * Layers the states in order (later wins). Scratch inputs are dropped; with fewer than two left no
 * MergeOp is made, as in BuildKit (the metadata of `opts` is then lost with it).
 */
export function merge(states: readonly State[], opts?: OpOptions): State {
  const real = states.filter((s) => !s.isScratch);
  const first = real[0];
  if (real.length === 0 || !first) return states[0] ?? State.scratch();
  if (real.length === 1) return first;
  const vertex = new MergeVertex(
    real.map((s) => s.output as Output),
    opts,
  );
  return first.withOutput({ vertex, index: 0 });
}
