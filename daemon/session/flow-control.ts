import type { Http2Session } from 'node:http2';

/**
 * HTTP/2 receive windows for the connection a Control.Session call rides on. grpc-js servers (1.14)
 * take no flow-control option and keep the 64 KiB defaults, so a local-source upload through the
 * tunnel stalled on a window update every 64 KiB. Found through grpc-js internals (the server
 * call's `call`, down its `nextCall` interceptor chain, holds the HTTP/2 `stream`); when they
 * differ nothing is tuned and transfers still work, only slower.
 */

const STREAM_WINDOW = 8 * 1024 * 1024;
const CONNECTION_WINDOW = 32 * 1024 * 1024;

function sessionOf(call: unknown): Http2Session | undefined {
  let c: unknown = (call as { call?: unknown } | null)?.call;
  for (let i = 0; i < 16 && c !== null && typeof c === 'object'; i++) {
    const stream = (c as { stream?: unknown }).stream;
    const session: unknown =
      stream !== null && typeof stream === 'object' ? (stream as { session?: unknown }).session : undefined;
    if (
      session !== null &&
      typeof session === 'object' &&
      typeof (session as Partial<Http2Session>).setLocalWindowSize === 'function' &&
      typeof (session as Partial<Http2Session>).settings === 'function'
    )
      return session as Http2Session;
    c = (c as { nextCall?: unknown }).nextCall;
  }
  return undefined;
}

/** Widens the receive windows under a grpc-js server call (never narrows them). */
export function widenCallFlowControl(call: unknown): void {
  const h2 = sessionOf(call);
  if (h2 === undefined || h2.destroyed || h2.closed) return;
  try {
    if ((h2.state.effectiveLocalWindowSize ?? 0) < CONNECTION_WINDOW)
      h2.setLocalWindowSize(CONNECTION_WINDOW);
    // SETTINGS_INITIAL_WINDOW_SIZE also grows the windows of streams already open, this one included.
    if ((h2.localSettings.initialWindowSize ?? 0) < STREAM_WINDOW)
      h2.settings({ initialWindowSize: STREAM_WINDOW });
  } catch {
    // The connection is closing: nothing to tune.
  }
}
