/**
 * Progress events as the client sees them (BuildKit `client.SolveStatus`), converted once from the
 * wire `StatusResponse` so that displays never touch protobuf objects.
 */

export interface Timestamp {
  readonly seconds: number;
  readonly nanos: number;
}

export interface Vertex {
  readonly digest: string;
  readonly inputs: readonly string[];
  readonly name: string;
  readonly cached: boolean;
  readonly started?: Timestamp;
  readonly completed?: Timestamp;
  readonly error: string;
  readonly progressGroup?: { readonly id: string; readonly name: string; readonly weak: boolean };
}

export interface VertexStatus {
  readonly id: string;
  readonly vertex: string;
  readonly name: string;
  readonly current: number;
  readonly total: number;
  readonly timestamp: Timestamp;
  readonly started?: Timestamp;
  readonly completed?: Timestamp;
}

export interface VertexLog {
  readonly vertex: string;
  readonly stream: number;
  readonly data: Uint8Array;
  readonly timestamp: Timestamp;
}

export interface VertexWarning {
  readonly vertex: string;
  readonly level: number;
  readonly short: Uint8Array;
  readonly detail: readonly Uint8Array[];
  readonly url: string;
}

export interface SolveStatus {
  readonly vertexes: readonly Vertex[];
  readonly statuses: readonly VertexStatus[];
  readonly logs: readonly VertexLog[];
  readonly warnings: readonly VertexWarning[];
}

/** The wire shape of a StatusResponse as @grpc/proto-loader decodes it (keepCase, longs Number). */
export interface WireTimestamp {
  readonly seconds?: number | string | null;
  readonly nanos?: number | null;
}
export interface WireStatusResponse {
  readonly vertexes?: readonly {
    readonly digest?: string;
    readonly inputs?: readonly string[];
    readonly name?: string;
    readonly cached?: boolean;
    readonly started?: WireTimestamp | null;
    readonly completed?: WireTimestamp | null;
    readonly error?: string;
    readonly progressGroup?: { readonly id?: string; readonly name?: string; readonly weak?: boolean } | null;
  }[];
  readonly statuses?: readonly {
    readonly ID?: string;
    readonly vertex?: string;
    readonly name?: string;
    readonly current?: number | string;
    readonly total?: number | string;
    readonly timestamp?: WireTimestamp | null;
    readonly started?: WireTimestamp | null;
    readonly completed?: WireTimestamp | null;
  }[];
  readonly logs?: readonly {
    readonly vertex?: string;
    readonly timestamp?: WireTimestamp | null;
    readonly stream?: number | string;
    readonly msg?: Uint8Array;
  }[];
  readonly warnings?: readonly {
    readonly vertex?: string;
    readonly level?: number | string;
    readonly short?: Uint8Array;
    readonly detail?: readonly Uint8Array[];
    readonly url?: string;
  }[];
}

function ts(w: WireTimestamp | null | undefined): Timestamp | undefined {
  if (w === null || w === undefined) return undefined;
  return { seconds: Number(w.seconds ?? 0), nanos: w.nanos ?? 0 };
}

const zeroTime: Timestamp = { seconds: 0, nanos: 0 };

export function fromStatusResponse(r: WireStatusResponse): SolveStatus {
  return {
    vertexes: (r.vertexes ?? []).map((v) => {
      const started = ts(v.started);
      const completed = ts(v.completed);
      const pg = v.progressGroup;
      return {
        digest: v.digest ?? '',
        inputs: v.inputs ?? [],
        name: v.name ?? '',
        cached: v.cached ?? false,
        error: v.error ?? '',
        ...(started ? { started } : {}),
        ...(completed ? { completed } : {}),
        ...(pg ? { progressGroup: { id: pg.id ?? '', name: pg.name ?? '', weak: pg.weak ?? false } } : {}),
      };
    }),
    statuses: (r.statuses ?? []).map((s) => {
      const started = ts(s.started);
      const completed = ts(s.completed);
      return {
        id: s.ID ?? '',
        vertex: s.vertex ?? '',
        name: s.name ?? '',
        current: Number(s.current ?? 0),
        total: Number(s.total ?? 0),
        timestamp: ts(s.timestamp) ?? zeroTime,
        ...(started ? { started } : {}),
        ...(completed ? { completed } : {}),
      };
    }),
    logs: (r.logs ?? []).map((l) => ({
      vertex: l.vertex ?? '',
      stream: Number(l.stream ?? 0),
      data: l.msg ?? new Uint8Array(),
      timestamp: ts(l.timestamp) ?? zeroTime,
    })),
    warnings: (r.warnings ?? []).map((w) => ({
      vertex: w.vertex ?? '',
      level: Number(w.level ?? 0),
      short: w.short ?? new Uint8Array(),
      detail: w.detail ?? [],
      url: w.url ?? '',
    })),
  };
}

/** Milliseconds since the epoch (fractional), for arithmetic on durations. */
export function toMillis(t: Timestamp): number {
  return t.seconds * 1000 + t.nanos / 1e6;
}

/** Seconds between two timestamps, exact to the nanosecond where doubles allow. */
export function secondsBetween(from: Timestamp, to: Timestamp): number {
  return to.seconds - from.seconds + (to.nanos - from.nanos) / 1e9;
}

/** Go's time.RFC3339Nano in UTC: fractional seconds with trailing zeros removed. */
export function toRfc3339Nano(t: Timestamp): string {
  const base = new Date(t.seconds * 1000).toISOString().slice(0, 19);
  const frac = t.nanos === 0 ? '' : `.${String(t.nanos).padStart(9, '0').replace(/0+$/u, '')}`;
  return `${base}${frac}Z`;
}

function b64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}

/** The JSON buildctl writes for `--progress rawjson` and `--trace` (Go client.SolveStatus tags). */
export function solveStatusToJson(s: SolveStatus): unknown {
  return {
    vertexes: s.vertexes.map((v) => ({
      digest: v.digest || undefined,
      inputs: v.inputs.length > 0 ? v.inputs : undefined,
      name: v.name || undefined,
      started: v.started ? toRfc3339Nano(v.started) : undefined,
      completed: v.completed ? toRfc3339Nano(v.completed) : undefined,
      cached: v.cached || undefined,
      error: v.error || undefined,
      progressGroup: v.progressGroup,
    })),
    statuses: s.statuses.map((st) => ({
      id: st.id,
      vertex: st.vertex || undefined,
      name: st.name || undefined,
      total: st.total || undefined,
      current: st.current,
      timestamp: toRfc3339Nano(st.timestamp),
      started: st.started ? toRfc3339Nano(st.started) : undefined,
      completed: st.completed ? toRfc3339Nano(st.completed) : undefined,
    })),
    logs: s.logs.map((l) => ({
      vertex: l.vertex || undefined,
      stream: l.stream || undefined,
      data: l.data.byteLength > 0 ? b64(l.data) : undefined,
      timestamp: toRfc3339Nano(l.timestamp),
    })),
    warnings: s.warnings.map((w) => ({
      vertex: w.vertex || undefined,
      level: w.level || undefined,
      short: w.short.byteLength > 0 ? b64(w.short) : undefined,
      detail: w.detail.length > 0 ? w.detail.map(b64) : undefined,
      url: w.url || undefined,
    })),
  };
}
