import { marshal, type MarshalOptions } from '../../client/llb/marshal.js';
import { State } from '../../client/llb/state.js';
import type { Vertex } from '../../client/llb/vertex.js';
import { decodeMessage, digestOf } from '../../proto/codec.js';
import { KilnError } from '../../proto/errors.js';
import type { DefinitionBytes, DefinitionSource } from '../types.js';

interface LineRange {
  readonly line: number;
  readonly endLine?: number;
}

/**
 * Remembers which Dockerfile lines produced which LLB vertex while converting (BuildKit attaches
 * `llb.SourceMap.Location` to each op); `attach` turns that into the Definition's pb.Source.
 */
export class SourceRecorder {
  readonly #ranges = new Map<Vertex, LineRange>();

  /** The op a step added (its new output), credited to the step's lines. */
  step(before: State, after: State, range: LineRange): void {
    const v = after.output?.vertex;
    if (!v || v === before.output?.vertex || this.#ranges.has(v)) return;
    this.#ranges.set(v, range);
  }

  /**
   * The definition with pb.Source: ops present in it, mapped to ranges of `file` (whose bytes are
   * `data`). `opts` must be the options the definition was marshaled with, so digests agree.
   */
  attach(definition: DefinitionBytes, file: string, data: Uint8Array, opts: MarshalOptions): DefinitionBytes {
    if (definition.def.length === 0 || this.#ranges.size === 0) return definition;
    const present = new Set(definition.def.map((b) => digestOf(b)));
    const locations: Record<string, DefinitionSource['locations'][string]> = {};
    for (const [vertex, range] of this.#ranges) {
      const sub = marshal(State.scratch().withOutput({ vertex, index: 0 }), opts);
      const terminal = sub.def.at(-1);
      if (!terminal) continue;
      const digest = decodeMessage<{ inputs: { digest: string }[] }>('pb.Op', terminal).inputs[0]?.digest;
      if (digest === undefined || !present.has(digest)) continue;
      locations[digest] = {
        locations: [
          {
            sourceIndex: 0,
            ranges: [{ start: { line: range.line }, end: { line: range.endLine ?? range.line } }],
          },
        ],
      };
    }
    return {
      ...definition,
      source: { locations, infos: [{ filename: file, data, language: 'Dockerfile' }] },
    };
  }
}

/** Gives a located error of this Dockerfile its bytes, so clients can print the lines around it. */
export function withSourceData(err: unknown, file: string, data: Uint8Array): unknown {
  if (err instanceof KilnError && err.location && err.location.file === file && !err.location.data) {
    err.location = { ...err.location, data };
  }
  return err;
}
