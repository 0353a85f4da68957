/** HTTP/2 wire constants (RFC 9113) for the session tunnel's client. */

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME_HEADER_BYTES = 9;
export const DEFAULT_WINDOW = 65_535;
export const DEFAULT_MAX_FRAME = 16_384;
export const MAX_WINDOW = 2 ** 31 - 1;
export const MAX_FRAME_LIMIT = 2 ** 24 - 1;

/** Writes a frame header at the start of `to`: 24-bit length, type, flags, 31-bit stream id. */
function writeFrameHeader(to: Buffer, length: number, type: number, flags: number, streamId: number): Buffer {
  to[0] = (length >>> 16) & 0xff;
  to[1] = (length >>> 8) & 0xff;
  to[2] = length & 0xff;
  to[3] = type;
  to[4] = flags;
  to.writeUInt32BE(streamId & MAX_WINDOW, 5);
  return to;
}

/** A frame header on its own (the payload follows in the caller's buffers). */
export function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  return writeFrameHeader(Buffer.allocUnsafe(FRAME_HEADER_BYTES), length, type, flags, streamId);
}

/** A whole frame with a small payload, in one buffer. */
export function smallFrame(type: number, flags: number, streamId: number, payload?: Uint8Array): Buffer {
  const len = payload?.byteLength ?? 0;
  const f = writeFrameHeader(Buffer.allocUnsafe(FRAME_HEADER_BYTES + len), len, type, flags, streamId);
  if (payload) f.set(payload, FRAME_HEADER_BYTES);
  return f;
}

/** One SETTINGS parameter: 16-bit id, 32-bit value. */
export function setting(id: number, value: number): Buffer {
  const b = Buffer.allocUnsafe(6);
  b.writeUInt16BE(id, 0);
  b.writeUInt32BE(value >>> 0, 2);
  return b;
}

export function u32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}

/** A readable name for an error code in messages. */
export function errorCodeName(code: number): string {
  for (const [name, value] of Object.entries(ErrorCode)) if (value === code) return name;
  return `0x${code.toString(16)}`;
}
