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

/**
 * The HTTP/2 stream under a grpc-js client call, found through grpc-js internals (1.14: the
 * ClientDuplexStream's `call`, its interceptors' `nextCall` and `call`, the resolving and
 * load-balancing calls' `child`, the retrying call's `underlyingCalls`, down to the subchannel
 * call's `http2Stream`), with that subchannel call. Only there once the call has a transport:
 * look it up when the response headers come ('metadata'). Undefined when the internals differ or
 * the call runs on more than one stream (hedging): callers then keep to the grpc-js call.
 */
export function clientCallStream(call: unknown): { stream: Http2Stream; owner: object } | undefined {
  const found: { stream: Http2Stream; owner: object }[] = [];
  const visit = (c: unknown, depth: number): void => {
    if (depth > 16 || c === null || typeof c !== 'object') return;
    const stream = (c as { http2Stream?: unknown }).http2Stream;
    if (
      stream !== null &&
      typeof stream === 'object' &&
      typeof (stream as Partial<Http2Stream>).write === 'function' &&
      typeof (stream as Partial<Http2Stream>).session === 'object'
    ) {
      found.push({ stream: stream as Http2Stream, owner: c });
      return;
    }
    const o = c as { call?: unknown; nextCall?: unknown; child?: unknown; underlyingCalls?: unknown };
    visit(o.call, depth + 1);
    visit(o.nextCall, depth + 1);
    visit(o.child, depth + 1);
    if (Array.isArray(o.underlyingCalls)) {
      for (const u of o.underlyingCalls as unknown[])
        visit((u as { call?: unknown } | null)?.call, depth + 1);
    }
  };
  visit(call, 0);
  const live = found.filter((f) => !f.stream.destroyed);
  return live.length === 1 ? live[0] : undefined;
}

/**
 * Reads gRPC-framed BytesMessages off a byte stream and hands on their payloads as they come, as
 * views of the received chunks: no message is ever assembled, whatever its size or its split into
 * chunks. `write` throws on what is not a plain, uncompressed BytesMessage; after that the decoder
 * is spent.
 */
export class BytesMessageDecoder {
  /** The head of the current message: 5-byte prefix, field tag, length varint. */
  private readonly head = Buffer.allocUnsafe(16);
  private headLen = 0;
  /** Payload bytes of the current message still to come (0: reading a head). */
  private payloadLeft = 0;

  constructor(private readonly onPayload: (payload: Buffer) => void) {}

  /** Whether a message has been started and not finished. */
  get partial(): boolean {
    return this.headLen > 0 || this.payloadLeft > 0;
  }

  write(chunk: Buffer): void {
    const n = chunk.byteLength;
    let pos = 0;
    while (pos < n) {
      if (this.payloadLeft > 0) {
        const k = Math.min(this.payloadLeft, n - pos);
        this.onPayload(pos === 0 && k === n ? chunk : chunk.subarray(pos, pos + k));
        pos += k;
        this.payloadLeft -= k;
        continue;
      }
      this.head[this.headLen++] = chunk[pos++]!;
      this.parseHead();
    }
  }

  /** Completes the head when its last byte came: starts the payload, or the next message. */
  private parseHead(): void {
    const h = this.head;
    const len = this.headLen;
    if (len < 5) return;
    if (h[0] !== 0) throw new Error('compressed session messages are not supported');
    const messageLen = h.readUInt32BE(1);
    if (messageLen === 0) {
      this.headLen = 0;
      return;
    }
    if (len === 5) return;
    if (h[5] !== 0x0a) throw new Error(`unexpected field in a BytesMessage (tag ${h[5]})`);
    if (len === 6 || (h[len - 1]! & 0x80) !== 0) {
      if (len >= 11) throw new Error('malformed BytesMessage length');
      return;
    }
    let payload = 0;
    let mul = 1;
    for (let i = 6; i < len; i++) {
      payload += (h[i]! & 0x7f) * mul;
      mul *= 128;
    }
    if (len - 5 + payload !== messageLen)
      throw new Error('unexpected fields in a BytesMessage (message and field lengths differ)');
    this.headLen = 0;
    this.payloadLeft = payload;
  }
}

/** Small messages sent in one event-loop turn go out as one write up to this size. */
const COALESCE_BYTES = 64 * 1024;
/** Messages this large are written on their own (after what is pending), without the batch copy. */
const DIRECT_BYTES = 16 * 1024;

/**
 * Gathers gRPC-framed messages into fewer writes: one write per ~20-byte fsutil packet (a REQ, a
 * STAT, an end-of-file DATA) cost more than the packet, so what comes in one event-loop turn goes
 * out joined, up to COALESCE_BYTES. Large messages go alone, as they are (no copy).
 */
export class CoalescingWriter {
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;

  /** `write` takes one joined chunk or one large message. */
  constructor(private readonly write: (chunk: Buffer) => void) {}

  /** Bytes gathered and not yet written. */
  get pendingBytes(): number {
    return this.outBytes;
  }

  push(frame: Buffer): void {
    if (frame.byteLength >= DIRECT_BYTES) {
      this.flush();
      this.write(frame);
      return;
    }
    this.out.push(frame);
    this.outBytes += frame.byteLength;
    if (this.outBytes >= COALESCE_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  /** Writes what is gathered now. */
  flush(): void {
    if (this.out.length === 0) return;
    const chunk = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out, this.outBytes);
    this.out = [];
    this.outBytes = 0;
    this.write(chunk);
  }
}
