import type { ProgressEvent } from '../solver/progress-types.js';

/** google.protobuf.Timestamp as proto-loader takes it. */
export interface TimestampValue {
  seconds: number;
  nanos: number;
}

export function toTimestamp(ms: number | undefined): TimestampValue | null {
  if (ms === undefined) return null;
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** moby.buildkit.v1.StatusResponse, in proto-loader's plain-object shape. */
export interface StatusResponseValue {
  vertexes: object[];
  statuses: object[];
  logs: object[];
  warnings: object[];
}

const maxLogBytesPerMessage = 1 << 20;

/**
 * Groups progress events into StatusResponse messages: each batch becomes one message unless its
 * logs exceed ~1 MiB, as BuildKit splits them.
 */
export function encodeStatusBatch(events: readonly ProgressEvent[]): StatusResponseValue[] {
  const out: StatusResponseValue[] = [];
  let cur: StatusResponseValue = { vertexes: [], statuses: [], logs: [], warnings: [] };
  let logBytes = 0;
  const flush = () => {
    if (cur.vertexes.length + cur.statuses.length + cur.logs.length + cur.warnings.length > 0) out.push(cur);
    cur = { vertexes: [], statuses: [], logs: [], warnings: [] };
    logBytes = 0;
  };
  for (const e of events) {
    switch (e.kind) {
      case 'vertex':
        cur.vertexes.push({
          digest: e.digest,
          inputs: [...e.inputs],
          name: e.name,
          cached: e.cached,
          started: toTimestamp(e.started),
          completed: toTimestamp(e.completed),
          error: e.error ?? '',
        });
        break;
      case 'status':
        cur.statuses.push({
          ID: e.id,
          vertex: e.vertex,
          name: e.name,
          current: e.current,
          total: e.total,
          timestamp: toTimestamp(e.timestamp),
          started: toTimestamp(e.started),
          completed: toTimestamp(e.completed),
        });
        break;
      case 'log':
        if (logBytes + e.data.byteLength > maxLogBytesPerMessage && logBytes > 0) flush();
        cur.logs.push({
          vertex: e.vertex,
          timestamp: toTimestamp(e.timestamp),
          stream: e.stream,
          msg: Buffer.from(e.data),
        });
        logBytes += e.data.byteLength;
        break;
      case 'warning':
        cur.warnings.push({
          vertex: e.vertex,
          level: e.level,
          short: Buffer.from(e.short),
          detail: e.detail.map((d) => Buffer.from(d)),
          url: e.url ?? '',
        });
        break;
      default: {
        const never: never = e;
        throw new Error(`unknown progress event ${JSON.stringify(never)}`);
      }
    }
  }
  flush();
  return out;
}
