import type { State } from '../../client/llb/state.js';
import type { Vertex } from '../../client/llb/vertex.js';
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
   * `data`). `digests` are the vertex digests the definition was marshaled with (marshalWithDigests):
   * one marshal for the whole graph, not one per step.
   */
  attach(
    definition: DefinitionBytes,
    digests: ReadonlyMap<Vertex, string>,
    file: string,
    data: Uint8Array,
  ): DefinitionBytes {
    if (definition.def.length === 0 || this.#ranges.size === 0) return definition;
    const locations: Record<string, DefinitionSource['locations'][string]> = {};
    for (const [vertex, range] of this.#ranges) {
      // Vertices the result does not reach are not in the definition.
      const digest = digests.get(vertex);
      if (digest === undefined) continue;
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
