import type { Session } from '../session/session.js';
import type { ImmutableRef, OpProgress } from '../solver/types.js';

/** What an exporter gets: the build's result and the client session to send it through. */
export interface ExportInput {
  /** Undefined when the result is empty (e.g. a build that produced nothing). */
  readonly ref: ImmutableRef | undefined;
  /** Result metadata from the frontend, e.g. `containerimage.config`. */
  readonly metadata: Readonly<Record<string, Uint8Array>>;
  readonly session: Session;
  readonly signal: AbortSignal;
  /** Progress for the synthetic "exporting …" vertex. */
  readonly progress: OpProgress;
}

export interface ExporterInstance {
  /** Shown as the export vertex's name, e.g. `exporting to client directory`. */
  readonly name: string;
  /** Runs the export; returns the ExporterResponse entries. */
  export(input: ExportInput): Promise<Record<string, string>>;
}

/** One per exporter type (`local`, `tar`, …); validates attrs once, at the edge. */
export interface Exporter {
  resolve(attrs: Readonly<Record<string, string>>): ExporterInstance;
}
