/**
 * fsutil's wire types (package `fsutil.types`) as Kiln handles them, plus Go os.FileMode bits.
 * The sender, the receiver and the walk share these; the protobuf mapping lives in fsutil-packet.ts.
 */

export const PacketType = {
  Stat: 0,
  Req: 1,
  Data: 2,
  Fin: 3,
  Err: 4,
} as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

/** One filesystem entry as fsutil sends it. `mode` holds Go os.FileMode bits, `modTime` unix ns. */
export interface FsStat {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  size: bigint;
  modTime: bigint;
  linkname: string;
  devmajor: bigint;
  devminor: bigint;
  xattrs: Map<string, Uint8Array>;
}

export type Packet =
  /** `stat` undefined marks the end of the listing. */
  | { readonly type: typeof PacketType.Stat; readonly stat: FsStat | undefined }
  | { readonly type: typeof PacketType.Req; readonly id: number }
  | { readonly type: typeof PacketType.Data; readonly id: number; readonly data: Uint8Array }
  | { readonly type: typeof PacketType.Fin }
  | { readonly type: typeof PacketType.Err; readonly data: Uint8Array };

/** A bidirectional packet stream; the transport (gRPC over the session tunnel) adapts to it. */
export interface PacketStream {
  /** Encodes the packet before it returns, so the caller may reuse the packet's data buffer at once. */
  send(packet: Packet): Promise<void>;
  /** No more packets from this side (gRPC CloseSend). */
  end(): void;
  [Symbol.asyncIterator](): AsyncIterator<Packet>;
  /**
   * Optional, instead of iterating: every packet that has arrived (at least one), or undefined
   * once the peer is done. One wait per batch rather than per packet; the receiver uses it.
   */
  nextBatch?(): Promise<Packet[] | undefined>;
}

/** Go os.FileMode bits (io/fs). */
export const GoMode = {
  Dir: 0x80000000,
  Append: 1 << 30,
  Exclusive: 1 << 29,
  Temporary: 1 << 28,
  Symlink: 1 << 27,
  Device: 1 << 26,
  NamedPipe: 1 << 25,
  Socket: 1 << 24,
  Setuid: 1 << 23,
  Setgid: 1 << 22,
  CharDevice: 1 << 21,
  Sticky: 1 << 20,
  Irregular: 1 << 19,
  Perm: 0o777,
} as const;

/** os.ModeType: the bits that make an entry something other than a regular file. */
export const GO_MODE_TYPE =
  (GoMode.Dir |
    GoMode.Symlink |
    GoMode.NamedPipe |
    GoMode.Socket |
    GoMode.Device |
    GoMode.CharDevice |
    GoMode.Irregular) >>>
  0;

export type EntryKind = 'file' | 'dir' | 'symlink' | 'blockdev' | 'chardev' | 'fifo' | 'socket';

export function kindOfGoMode(mode: number): EntryKind {
  const m = mode >>> 0;
  if (m & GoMode.Dir) return 'dir';
  if (m & GoMode.Symlink) return 'symlink';
  if (m & GoMode.Device) return m & GoMode.CharDevice ? 'chardev' : 'blockdev';
  if (m & GoMode.CharDevice) return 'chardev';
  if (m & GoMode.NamedPipe) return 'fifo';
  if (m & GoMode.Socket) return 'socket';
  return 'file';
}

/** Whether the receiver may ask for this entry's bytes; must agree on both sides (fsutil's rule). */
export function fileCanRequestData(mode: number): boolean {
  return ((mode >>> 0) & GO_MODE_TYPE) === 0;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFBLK = 0o060000;
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;
const S_IFSOCK = 0o140000;

/**
 * Unix st_mode → Go os.FileMode. Sockets lose their type bit (fsutil never sends ModeSocket), so
 * they travel as empty regular files.
 */
export function goModeFromUnix(stMode: number): number {
  let m = stMode & 0o777;
  switch (stMode & S_IFMT) {
    case S_IFDIR:
      m |= GoMode.Dir;
      break;
    case S_IFLNK:
      m |= GoMode.Symlink;
      break;
    case S_IFBLK:
      m |= GoMode.Device;
      break;
    case S_IFCHR:
      m |= GoMode.Device | GoMode.CharDevice;
      break;
    case S_IFIFO:
      m |= GoMode.NamedPipe;
      break;
    case S_IFSOCK:
      break;
  }
  if (stMode & 0o4000) m |= GoMode.Setuid;
  if (stMode & 0o2000) m |= GoMode.Setgid;
  if (stMode & 0o1000) m |= GoMode.Sticky;
  return m >>> 0;
}

/** The chmod(2) bits (perm + setuid/setgid/sticky) of a Go os.FileMode. */
export function unixPermFromGoMode(mode: number): number {
  const m = mode >>> 0;
  let p = m & 0o777;
  if (m & GoMode.Setuid) p |= 0o4000;
  if (m & GoMode.Setgid) p |= 0o2000;
  if (m & GoMode.Sticky) p |= 0o1000;
  return p;
}

export function emptyStat(path: string): FsStat {
  return {
    path,
    mode: 0,
    uid: 0,
    gid: 0,
    size: 0n,
    modTime: 0n,
    linkname: '',
    devmajor: 0n,
    devminor: 0n,
    xattrs: new Map(),
  };
}
