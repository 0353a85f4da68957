// Original file: proto/fsutil/types/wire.proto

import type { Stat as _fsutil_types_Stat, Stat__Output as _fsutil_types_Stat__Output } from '../../fsutil/types/Stat.js';

// Original file: proto/fsutil/types/wire.proto

export const _fsutil_types_Packet_PacketType = {
  PACKET_STAT: 0,
  PACKET_REQ: 1,
  PACKET_DATA: 2,
  PACKET_FIN: 3,
  PACKET_ERR: 4,
} as const;

export type _fsutil_types_Packet_PacketType =
  | 'PACKET_STAT'
  | 0
  | 'PACKET_REQ'
  | 1
  | 'PACKET_DATA'
  | 2
  | 'PACKET_FIN'
  | 3
  | 'PACKET_ERR'
  | 4

export type _fsutil_types_Packet_PacketType__Output = typeof _fsutil_types_Packet_PacketType[keyof typeof _fsutil_types_Packet_PacketType]

export interface Packet {
  'type'?: (_fsutil_types_Packet_PacketType);
  'stat'?: (_fsutil_types_Stat | null);
  'ID'?: (number);
  'data'?: (Buffer | Uint8Array | string);
}

export interface Packet__Output {
  'type': (_fsutil_types_Packet_PacketType__Output);
  'stat': (_fsutil_types_Stat__Output | null);
  'ID': (number);
  'data': (Buffer);
}
