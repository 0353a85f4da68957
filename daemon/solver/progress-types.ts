/**
 * Progress as the solver reports it. The control layer turns these into StatusResponse messages;
 * later events for the same vertex digest or status id supersede earlier ones (clients merge by key).
 */
export interface VertexEvent {
  readonly kind: 'vertex';
  readonly digest: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly cached: boolean;
  /** ms since epoch */
  readonly started?: number;
  readonly completed?: number;
  readonly error?: string;
}

export interface StatusEvent {
  readonly kind: 'status';
  readonly vertex: string;
  readonly id: string;
  readonly name: string;
  readonly current: number;
  readonly total: number;
  readonly timestamp: number;
  readonly started?: number;
  readonly completed?: number;
}

export interface LogEvent {
  readonly kind: 'log';
  readonly vertex: string;
  readonly stream: 1 | 2;
  readonly data: Uint8Array;
  readonly timestamp: number;
}

export interface WarningEvent {
  readonly kind: 'warning';
  readonly vertex: string;
  readonly level: number;
  readonly short: string;
  readonly detail: readonly string[];
  readonly url?: string;
}

export type ProgressEvent = VertexEvent | StatusEvent | LogEvent | WarningEvent;

/** Where progress goes; a job's sink replays everything to each Status reader. */
export interface ProgressSink {
  write(event: ProgressEvent): void;
}
