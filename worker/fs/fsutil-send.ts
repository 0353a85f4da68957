import { closeSync, constants, openSync, readSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { CanceledError } from '../../proto/errors.js';
import { decodePacket } from './fsutil-packet.js';
import {
  type BatchBuilder,
  FrameBuilder,
  MAX_DATA_HEADER,
  PacketBuilder,
  type PacketBatch,
} from './fsutil-send-frames.js';
import {
  type FsStat,
  fileCanRequestData,
  type Packet,
  type PacketStream,
  PacketType,
} from './fsutil-types.js';
import { FileSyncProtocolError, FileSyncRemoteError } from './fsutil-validator.js';
import { type WalkEntry, type WalkOptions, Walker } from './walk.js';

/**
 * fsutil's sender: 32 KiB DATA chunks. One loop does everything: it walks, reads the requested
 * files with synchronous syscalls and encodes the packets, in slices of SLICE_MS between turns of
 * the event loop, into large buffers of framed messages that the transport writes as they are. Small files made the
 * per-packet costs (a promise, a Buffer, a write each) dominate, not the disk.
 */
const CHUNK_SIZE = 32 * 1024;
/** Framed packets gathered before they go to the transport in one write. */
const BATCH_BYTES = 256 * 1024;
/** Room for a full batch and one more chunk (with its header and the empty DATA after it). */
const BATCH_CAPACITY = BATCH_BYTES + CHUNK_SIZE + 2 * MAX_DATA_HEADER;
/** Synchronous work between two turns of the event loop. */
const SLICE_MS = 4;
/** See sendData; O_NONBLOCK changes nothing for a regular file. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export interface SendOptions extends WalkOptions {
  /** Rewrites (or drops, by returning undefined) each stat before it is sent; buildctl zeroes uid/gid. */
  readonly mapStat?: (stat: FsStat) => FsStat | undefined;
  /** Total bytes of file data sent so far. */
  readonly onProgress?: (bytes: number) => void;
}

/** What the sender hears from the receiver; called in order, nothing after end() or error(). */
export interface FrameListener {
  /** A received message: the protobuf bytes of an fsutil Packet. */
  message(bytes: Uint8Array): void;
  /** A received packet, from a transport that decodes them itself. */
  packet(packet: Packet): void;
  end(): void;
  error(err: unknown): void;
}

/** A transport that takes the sender's packets a batch at a time. */
export interface BatchChannel<B> {
  /**
   * Takes the batch, calling `done` once nothing refers to its memory any more (the caller may
   * reuse it then); false: wait for drain() before writing more.
   */
  write(batch: B, done?: () => void): boolean;
  /** Resolves when the channel takes more; rejects when it cannot send. */
  drain(): Promise<void>;
  /** No more messages from this side (gRPC CloseSend). */
  end(): void;
  listen(listener: FrameListener): void;
  /** The sender is done listening. */
  release(): void;
}

/**
 * A transport taking framed messages in bulk: gRPC's 5-byte prefix and the protobuf bytes of a
 * Packet, back to back (the raw HTTP/2 stream under a session call).
 */
export type FrameChannel = BatchChannel<Buffer>;

/**
 * Sends `root` over a DiffCopy packet stream: the listing, then the bytes of each requested file,
 * then the FIN handshake. Resolves when the receiver has acknowledged everything.
 */
export function sendDiffCopy(
  stream: PacketStream,
  root: string,
  opts: SendOptions,
  signal: AbortSignal,
): Promise<void> {
  const out = new PacketBuilder(BATCH_CAPACITY);
  return new DiffCopySender(packetChannel(stream), out, opts, signal).run(root);
}

/** sendDiffCopy over a transport that writes framed messages in bulk. */
export function sendDiffCopyFrames(
  channel: FrameChannel,
  root: string,
  opts: SendOptions,
  signal: AbortSignal,
): Promise<void> {
  return new DiffCopySender(channel, new FrameBuilder(BATCH_CAPACITY), opts, signal).run(root);
}

/** A PacketStream as a BatchChannel. */
function packetChannel(stream: PacketStream): BatchChannel<PacketBatch> {
  let sending: Promise<void> = Promise.resolve();
  let listening = true;
  const sendAll = async (batch: PacketBatch) => {
    // In order without waiting on each: send() encodes the packet before it returns, so the
    // data need not be copied, and the batch as a whole waits for the stream.
    const sends: Promise<void>[] = [];
    for (const p of batch.packets) sends.push(stream.send(p));
    await Promise.all(sends);
  };
  return {
    write: (batch, done) => {
      sending = sending.then(() => sendAll(batch)).finally(done);
      // Awaited through drain(); a failure after the sender stopped listening goes nowhere.
      sending.catch(() => {});
      return false;
    },
    drain: () => sending,
    end: () => stream.end(),
    listen: (listener) => {
      void (async () => {
        try {
          for await (const p of stream) {
            if (!listening) return;
            listener.packet(p);
            if (p.type === PacketType.Fin) return;
          }
          if (listening) listener.end();
        } catch (err) {
          if (listening) listener.error(err);
        }
      })();
    },
    release: () => {
      listening = false;
    },
  };
}

/** A REQ as every fsutil receiver writes it (type, then the id unless 0); -1 for anything else. */
function requestId(b: Uint8Array): number {
  if (b.length < 2 || b.length > 8 || b[0] !== 1 << 3 || b[1] !== PacketType.Req) return -1;
  if (b.length === 2) return 0;
  if (b[2] !== 3 << 3 || (b[b.length - 1]! & 0x80) !== 0) return -1;
  let id = 0;
  let scale = 1;
  for (let i = 3; i < b.length; i++) {
    const c = b[i]!;
    if (i < b.length - 1 && (c & 0x80) === 0) return -1;
    id += (c & 0x7f) * scale;
    scale *= 128;
  }
  return id <= 0xffffffff ? id : -1;
}

function cancelReason(reason: unknown): Error {
  return reason instanceof Error ? reason : new CanceledError(`file sync canceled: ${String(reason)}`);
}

type FillResult = 'full' | 'due' | 'idle';

class DiffCopySender<B> implements FrameListener {
  private walker: Walker | undefined;
  private listingDone = false;
  /** A stat that did not fit in the last batch, and its file. */
  private heldStat: FsStat | undefined;
  private heldPath = '';
  /** By id (the index of the stat sent): the file while it may be requested, then undefined. */
  private readonly paths: (string | undefined)[] = [];
  private readonly sizes: number[] = [];
  /** Requested files not started yet, in order. */
  private readonly requested: number[] = [];
  private readonly requestedPaths: string[] = [];
  private requestedHead = 0;
  /** The file being sent: fd -1 when none. */
  private fd = -1;
  private fileId = 0;
  private fileSize = 0;
  private fileSent = 0;
  private bytes = 0;
  private finReceived = false;
  private errSent = false;
  private failure: { readonly err: unknown } | undefined;
  private waiting: { readonly resolve: () => void; readonly forPackets: boolean } | undefined;

  constructor(
    private readonly channel: BatchChannel<B>,
    private readonly out: BatchBuilder<B>,
    private readonly opts: SendOptions,
    private readonly signal: AbortSignal,
  ) {}

  async run(root: string): Promise<void> {
    const onAbort = () => this.fail(cancelReason(this.signal.reason));
    if (this.signal.aborted) onAbort();
    else this.signal.addEventListener('abort', onAbort, { once: true });
    try {
      this.channel.listen(this);
      try {
        this.walker = await Walker.open(root, this.opts);
      } catch (err) {
        this.walkFailed(err);
      }
      await this.pump();
    } catch (err) {
      this.fail(err);
      // The ERR packet goes out before the call fails, as fsutil's sender does.
      if (this.errSent) await this.channel.drain().catch(() => {});
      throw this.failure!.err;
    } finally {
      this.signal.removeEventListener('abort', onAbort);
      this.closeFile();
      this.channel.release();
    }
  }

  // --- what the receiver says

  message(bytes: Uint8Array): void {
    const id = requestId(bytes);
    if (id >= 0) this.request(id);
    else {
      let p: Packet;
      try {
        p = decodePacket(bytes);
      } catch (err) {
        this.fail(err);
        return;
      }
      this.packet(p);
    }
  }

  packet(p: Packet): void {
    if (this.failure !== undefined || this.finReceived) return;
    switch (p.type) {
      case PacketType.Err:
        this.fail(new FileSyncRemoteError(`error from receiver: ${Buffer.from(p.data).toString()}`));
        break;
      case PacketType.Req:
        this.request(p.id);
        break;
      case PacketType.Fin:
        this.finReceived = true;
        this.wake(false);
        break;
      default:
        break;
    }
  }

  end(): void {
    if (this.finReceived) return;
    // Canceled: the call ends with it, and the cancellation is the story.
    if (this.signal.aborted) this.fail(cancelReason(this.signal.reason));
    else this.fail(new FileSyncRemoteError('receiver closed the stream before the transfer finished'));
  }

  error(err: unknown): void {
    if (!this.finReceived) this.fail(err);
  }

  private request(id: number): void {
    if (this.failure !== undefined || this.finReceived) return;
    const path = this.paths[id];
    if (path === undefined) {
      this.fail(new FileSyncProtocolError(`invalid file id ${id}`));
      return;
    }
    this.paths[id] = undefined;
    this.requested.push(id);
    this.requestedPaths.push(path);
    this.wake(false);
  }

  /** The first failure (or cancellation) is the one reported; it stops the pump. */
  private fail(err: unknown): void {
    this.failure ??= { err };
    this.wake(true);
  }

  private wake(always: boolean): void {
    const w = this.waiting;
    if (w === undefined || (!always && !w.forPackets)) return;
    this.waiting = undefined;
    w.resolve();
  }

  /** Waits for `drained` (only a failure cuts it short), or with none for a packet or a failure. */
  private wait(drained?: Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting = { resolve, forPackets: drained === undefined };
      drained?.then(resolve, reject);
    });
  }

  // --- what the sender sends

  private async pump(): Promise<void> {
    const out = this.out;
    for (;;) {
      if (this.failure !== undefined) throw this.failure.err;
      if (this.finReceived) return this.finish();
      const deadline = performance.now() + SLICE_MS;
      for (;;) {
        const result = this.fill(deadline);
        if (out.size > 0 && !this.write()) {
          await this.wait(this.channel.drain());
          break;
        }
        if (result === 'full') continue;
        if (result === 'due') await nextTurn();
        else await this.wait();
        break;
      }
    }
  }

  /** The batch to the channel; false when the channel asks to wait. */
  private write(): boolean {
    const out = this.out;
    const batch = out.take();
    return this.channel.write(batch, () => out.recycle(batch));
  }

  /** Packets into the batch until it is full, the slice is used up, or there is nothing to send. */
  private fill(deadline: number): FillResult {
    const out = this.out;
    for (;;) {
      if (this.failure !== undefined) return 'due';
      let worked = false;
      if (this.fd >= 0 || this.requestedHead < this.requested.length) {
        if (!this.sendData()) return 'full';
        worked = true;
      }
      if (!this.listingDone) {
        if (!this.sendStat()) return 'full';
        worked = true;
      }
      if (!worked) return 'idle';
      if (out.size >= BATCH_BYTES) return 'full';
      if (performance.now() >= deadline) return 'due';
    }
  }

  /** The next stat of the listing (or its end); false when the batch is full. */
  private sendStat(): boolean {
    let stat = this.heldStat;
    if (stat === undefined) {
      let entry: WalkEntry | undefined;
      try {
        entry = this.walker!.next();
      } catch (err) {
        return this.walkFailed(err);
      }
      if (entry === undefined) {
        if (!this.out.endOfListing()) return false;
        this.listingDone = true;
        return true;
      }
      stat = this.opts.mapStat ? this.opts.mapStat(entry.stat) : entry.stat;
      if (stat === undefined) return true;
      this.heldPath = entry.absPath;
    }
    if (!this.out.stat(stat)) {
      this.heldStat = stat;
      return false;
    }
    this.heldStat = undefined;
    const requestable = fileCanRequestData(stat.mode);
    this.paths.push(requestable ? this.heldPath : undefined);
    this.sizes.push(requestable ? Number(stat.size) : 0);
    return true;
  }

  /** Sends what was listed, then an ERR packet, and fails. */
  private walkFailed(err: unknown): never {
    if (this.failure === undefined) {
      const message = err instanceof Error ? err.message : String(err);
      try {
        if (!this.out.err(message)) {
          this.write();
          this.out.err(message);
        }
        this.write();
        this.errSent = true;
      } catch {
        // The transport is gone: the error below is what matters.
      }
    }
    this.fail(err);
    throw err;
  }

  /**
   * Opens the next requested file, or sends the next chunk of the open one (a small file
   * entirely); false when the batch is full. A file that vanished or cannot be opened is sent
   * as empty, as fsutil does; so is one replaced since the walk by a symlink (not followed out of
   * the tree) or by a FIFO (which a blocking open would wait on with the event loop stopped).
   */
  private sendData(): boolean {
    const out = this.out;
    if (this.fd < 0) {
      if (!out.fits(MAX_DATA_HEADER)) return false;
      const id = this.requested[this.requestedHead]!;
      const path = this.requestedPaths[this.requestedHead]!;
      if (++this.requestedHead === this.requested.length) {
        this.requested.length = 0;
        this.requestedPaths.length = 0;
        this.requestedHead = 0;
      }
      let fd: number;
      try {
        fd = openSync(path, OPEN_FLAGS);
      } catch {
        out.endOfFile(id);
        return true;
      }
      this.fd = fd;
      this.fileId = id;
      this.fileSize = this.sizes[id]!;
      this.fileSent = 0;
    }
    const id = this.fileId;
    const remaining = this.fileSize - this.fileSent;
    // The header is sized for what the walk saw; commitData fixes it when the read differs.
    const expect = remaining > 0 && remaining < CHUNK_SIZE ? remaining : CHUNK_SIZE;
    // Room for the chunk and the empty DATA that may follow it.
    const at = out.reserveData(id, CHUNK_SIZE + MAX_DATA_HEADER, expect);
    if (at < 0) return false;
    const n = readSync(this.fd, out.buf, at, CHUNK_SIZE, null);
    if (n > 0) {
      out.commitData(id, at, n, expect);
      this.fileSent += n;
      this.bytes += n;
      this.opts.onProgress?.(this.bytes);
      // A short read at the size the walk saw is the end: skip the read that would return 0.
      if (n === CHUNK_SIZE || this.fileSent !== this.fileSize) return true;
    }
    out.endOfFile(id);
    this.closeFile();
    return true;
  }

  private closeFile(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    closeSync(fd);
  }

  /** The receiver has everything: FIN back, then CloseSend. It may already be gone: not an error. */
  private async finish(): Promise<void> {
    try {
      this.out.fin();
      if (!this.write()) await this.wait(this.channel.drain());
    } catch {
      // Nothing more to say to a receiver that left.
    }
    this.channel.end();
  }
}
