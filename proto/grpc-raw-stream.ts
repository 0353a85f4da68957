import type { Http2Stream } from 'node:http2';

/**
 * The HTTP/2 stream under a grpc-js server call, found through grpc-js internals (1.14: the
 * ServerDuplexStream's `call`, down its `nextCall` interceptor chain, holds `stream`). Writing
 * gRPC-framed messages to it directly skips grpc-js's serialiser and its framing copy, and lets
 * HTTP/2 batch them (writev). Undefined when the internals differ (or for a client call): callers
 * then fall back to call.write. Callers must send the response headers first
 * (`call.sendMetadata`), as grpc-js would before its first message, and must not mix the two paths.
 */
export function serverCallStream(call: unknown): Http2Stream | undefined {
  let c: unknown = (call as { call?: unknown } | null)?.call;
  for (let i = 0; i < 16 && c !== null && typeof c === 'object'; i++) {
    const stream = (c as { stream?: unknown }).stream;
    if (
      stream !== null &&
      typeof stream === 'object' &&
      typeof (stream as Partial<Http2Stream>).write === 'function' &&
      typeof (stream as { respond?: unknown }).respond === 'function' &&
      typeof (c as { sendMetadata?: unknown }).sendMetadata === 'function'
    )
      return stream as Http2Stream;
    c = (c as { nextCall?: unknown }).nextCall;
  }
  return undefined;
}

/** Bytes of a protobuf varint. */
export function varintLength(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/**
 * The bytes in front of a BytesMessage's payload on the wire: gRPC's 5-byte message prefix
 * (uncompressed flag, big-endian length), then field 1's tag (0x0a) and length. With the payload
 * after it, it is exactly what grpc-js sends for `{ data: payload }` (an empty payload has no field).
 */
export function bytesMessagePrefix(payloadLength: number): Buffer {
  const field = payloadLength === 0 ? 0 : 1 + varintLength(payloadLength);
  const head = Buffer.allocUnsafe(5 + field);
  writeBytesMessagePrefix(head, 0, payloadLength);
  return head;
}

/** Writes bytesMessagePrefix(payloadLength) into `buf` at `at`; returns its length. */
export function writeBytesMessagePrefix(buf: Buffer, at: number, payloadLength: number): number {
  const field = payloadLength === 0 ? 0 : 1 + varintLength(payloadLength);
  buf[at] = 0;
  buf.writeUInt32BE(payloadLength + field, at + 1);
  let pos = at + 5;
  if (payloadLength > 0) {
    buf[pos++] = 0x0a;
    let v = payloadLength;
    while (v >= 0x80) {
      buf[pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[pos++] = v;
  }
  return pos - at;
}
