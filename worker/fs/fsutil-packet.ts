import { decodeMessage, encodeMessage } from '../../proto/codec.js';
import { type FsStat, type Packet, type PacketStream, PacketType } from './fsutil-types.js';
import { FileSyncProtocolError } from './fsutil-validator.js';
import { decodePacketWire, encodePacketWire } from './fsutil-wire.js';

/** fsutil.types.Packet ↔ Kiln's Packet; the only place that knows the protobuf field names. */

interface WireStat {
  path?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: bigint | number | string;
  modTime?: bigint | number | string;
  linkname?: string;
  devmajor?: bigint | number | string;
  devminor?: bigint | number | string;
  xattrs?: Map<string, Uint8Array> | Record<string, Uint8Array>;
}

interface WirePacket {
  type?: number | string;
  stat?: WireStat | null;
  ID?: number;
  data?: Uint8Array;
}

const PACKET = 'fsutil.types.Packet';
const typeNames = ['PACKET_STAT', 'PACKET_REQ', 'PACKET_DATA', 'PACKET_FIN', 'PACKET_ERR'] as const;

export function encodePacket(p: Packet): Uint8Array {
  return encodePacketWire(p);
}

/** The schema-driven encoding, the reference the hand-written codec is tested against. */
export function encodePacketSchema(p: Packet): Uint8Array {
  switch (p.type) {
    case PacketType.Stat:
      return encodeMessage(
        PACKET,
        p.stat === undefined ? { type: 0 } : { type: 0, stat: statToWire(p.stat) },
      );
    case PacketType.Req:
      return encodeMessage(PACKET, { type: PacketType.Req, ID: p.id });
    case PacketType.Data:
      return encodeMessage(PACKET, { type: PacketType.Data, ID: p.id, data: p.data });
    case PacketType.Fin:
      return encodeMessage(PACKET, { type: PacketType.Fin });
    case PacketType.Err:
      return encodeMessage(PACKET, { type: PacketType.Err, data: p.data });
    default: {
      const never: never = p;
      throw new Error(`unknown packet ${String(never)}`);
    }
  }
}

export function decodePacket(bytes: Uint8Array): Packet {
  const w = decodePacketWire(bytes);
  switch (w.type) {
    case PacketType.Stat:
      return { type: PacketType.Stat, stat: w.stat };
    case PacketType.Req:
      return { type: PacketType.Req, id: w.id };
    case PacketType.Data:
      return { type: PacketType.Data, id: w.id, data: w.data };
    case PacketType.Fin:
      return { type: PacketType.Fin };
    case PacketType.Err:
      return { type: PacketType.Err, data: w.data };
    default:
      throw new FileSyncProtocolError(`unknown file sync packet type ${String(w.type)}`);
  }
}

/** The schema-driven decoding, the reference the hand-written codec is tested against. */
export function decodePacketSchema(bytes: Uint8Array): Packet {
  const w = decodeMessage<WirePacket>(PACKET, bytes, { longs: 'bigint' });
  const type =
    typeof w.type === 'string' ? typeNames.indexOf(w.type as (typeof typeNames)[number]) : (w.type ?? 0);
  const data = w.data ?? new Uint8Array(0);
  const id = w.ID ?? 0;
  switch (type) {
    case PacketType.Stat:
      return { type: PacketType.Stat, stat: w.stat ? statFromWire(w.stat) : undefined };
    case PacketType.Req:
      return { type: PacketType.Req, id };
    case PacketType.Data:
      return { type: PacketType.Data, id, data };
    case PacketType.Fin:
      return { type: PacketType.Fin };
    case PacketType.Err:
      return { type: PacketType.Err, data };
    default:
      throw new FileSyncProtocolError(`unknown file sync packet type ${String(w.type)}`);
  }
}

function statToWire(s: FsStat): WireStat {
  const out: WireStat = {
    path: s.path,
    mode: s.mode >>> 0,
    uid: s.uid,
    gid: s.gid,
    size: s.size,
    modTime: s.modTime,
    linkname: s.linkname,
    devmajor: s.devmajor,
    devminor: s.devminor,
  };
  if (s.xattrs.size > 0) out.xattrs = Object.fromEntries(s.xattrs);
  return out;
}

function big(v: bigint | number | string | undefined): bigint {
  if (v === undefined) return 0n;
  return typeof v === 'bigint' ? v : BigInt(v);
}

function statFromWire(w: WireStat): FsStat {
  const xattrs = new Map<string, Uint8Array>(
    w.xattrs instanceof Map ? w.xattrs : Object.entries(w.xattrs ?? {}),
  );
  return {
    path: w.path ?? '',
    mode: (w.mode ?? 0) >>> 0,
    uid: w.uid ?? 0,
    gid: w.gid ?? 0,
    size: big(w.size),
    modTime: big(w.modTime),
    linkname: w.linkname ?? '',
    devmajor: big(w.devmajor),
    devminor: big(w.devminor),
    xattrs,
  };
}

/** A stream of raw messages (one protobuf message per item), as the session tunnel provides. */
export interface MessageStream {
  send(bytes: Uint8Array): Promise<void>;
  /**
   * Optional: sends a message already framed with gRPC's 5-byte prefix (see encodePacketWire),
   * for transports that write frames themselves; saves a copy of every packet.
   */
  sendFramed?(frame: Uint8Array): Promise<void>;
  end(): void;
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array>;
  /** Optional: every message that has arrived (at least one), or undefined at the end. */
  nextBatch?(): Promise<Uint8Array[] | undefined>;
}

export function packetStream(messages: MessageStream): PacketStream {
  const framed = messages.sendFramed?.bind(messages);
  const batches = messages.nextBatch?.bind(messages);
  return {
    ...(batches
      ? {
          nextBatch: async () => {
            const b = await batches();
            if (b === undefined) return undefined;
            const out = new Array<Packet>(b.length);
            for (let i = 0; i < b.length; i++) out[i] = decodePacket(b[i]!);
            return out;
          },
        }
      : {}),
    send: framed ? (p) => framed(encodePacketWire(p, true)) : (p) => messages.send(encodePacket(p)),
    end: () => messages.end(),
    // A plain iterator rather than an async generator: one less layer of generator machinery
    // for each of the tens of thousands of packets of a transfer.
    [Symbol.asyncIterator](): AsyncIterator<Packet> {
      const it = messages[Symbol.asyncIterator]();
      return {
        next: async () => {
          const r = await it.next();
          return r.done ? { done: true, value: undefined } : { done: false, value: decodePacket(r.value) };
        },
        return: async () => {
          await it.return?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
}
