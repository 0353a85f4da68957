import { execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { link, mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../proto/errors.js';
import { decodePacket, encodePacket } from '../../worker/fs/fsutil-packet.js';
import {
  type FrameChannel,
  type FrameListener,
  type SendOptions,
  sendDiffCopy,
  sendDiffCopyFrames,
} from '../../worker/fs/fsutil-send.js';
import {
  type FsStat,
  fileCanRequestData,
  type Packet,
  type PacketStream,
  PacketType,
} from '../../worker/fs/fsutil-types.js';
import { FileSyncProtocolError, FileSyncRemoteError } from '../../worker/fs/fsutil-validator.js';

// The sender against a scripted receiver, in process: the listing, the bytes of what is
// requested, the FIN handshake, and every way the transfer can fail.

let tmp: string;
let src: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-send-'));
  src = path.join(tmp, 'src');
  await mkdir(src);
});
afterEach(() => {
  // rm(1) walks with openat: one test makes a tree deeper than PATH_MAX.
  execFileSync('rm', ['-rf', tmp]);
});

interface Script {
  /** Whether to request a listed file (all by default). */
  request?: (stat: FsStat, id: number) => boolean;
  /** Runs when a stat arrives, before its REQ goes out. */
  onStat?: (stat: FsStat, id: number) => void;
  /** Runs when file bytes arrive. */
  onData?: (id: number, bytes: number) => void;
  /** Instead of the normal flow: packets to answer the first stat with. */
  answer?: Packet[];
  /** Ends the stream as soon as the listing is complete. */
  hangUpAfterListing?: boolean;
}

/** What a receiver saw, and its side of the handshake. */
class FakeReceiver {
  readonly stats: FsStat[] = [];
  readonly files = new Map<number, Buffer[]>();
  readonly chunkSizes: number[] = [];
  readonly done = new Set<number>();
  readonly received: Packet[] = [];
  listingDone = false;
  finSent = false;
  finReceived = false;
  ended = false;
  private requested = 0;
  private answered = false;

  constructor(
    private readonly script: Script,
    private readonly reply: (p: Packet) => void,
    private readonly hangUp: () => void,
  ) {}

  take(p: Packet): void {
    this.received.push(p);
    switch (p.type) {
      case PacketType.Stat: {
        if (p.stat === undefined) {
          this.listingDone = true;
          if (this.script.hangUpAfterListing) setImmediate(this.hangUp);
          break;
        }
        const id = this.stats.length;
        this.stats.push(p.stat);
        this.script.onStat?.(p.stat, id);
        if (this.script.answer && !this.answered) {
          this.answered = true;
          for (const a of this.script.answer) setImmediate(() => this.reply(a));
          return;
        }
        if (fileCanRequestData(p.stat.mode) && (this.script.request?.(p.stat, id) ?? true)) {
          this.requested++;
          this.files.set(id, []);
          setImmediate(() => this.reply({ type: PacketType.Req, id }));
        }
        break;
      }
      case PacketType.Data: {
        const chunks = this.files.get(p.id);
        if (chunks === undefined && this.script.answer) break;
        if (chunks === undefined || this.done.has(p.id)) throw new Error(`unrequested data for ${p.id}`);
        this.script.onData?.(p.id, p.data.byteLength);
        if (p.data.byteLength === 0) this.done.add(p.id);
        else {
          chunks.push(Buffer.from(p.data));
          this.chunkSizes.push(p.data.byteLength);
        }
        break;
      }
      case PacketType.Fin:
        this.finReceived = true;
        return;
      default:
        throw new Error(`unexpected packet ${p.type}`);
    }
    if (this.listingDone && this.done.size === this.requested && !this.finSent && !this.script.answer) {
      this.finSent = true;
      setImmediate(() => this.reply({ type: PacketType.Fin }));
    }
  }

  content(rel: string): string | undefined {
    const id = this.stats.findIndex((s) => s.path === rel);
    const chunks = this.files.get(id);
    return chunks && Buffer.concat(chunks).toString();
  }
}

interface FrameTransport {
  readonly channel: FrameChannel;
  readonly receiver: FakeReceiver;
  readonly writes: number[];
  /** While set, writes report a full channel and drain() waits for release. */
  block: boolean;
  releaseDrain(): void;
}

function frameTransport(script: Script = {}): FrameTransport {
  let listener: FrameListener | undefined;
  let drained: (() => void) | undefined;
  const t: FrameTransport = {
    writes: [],
    block: false,
    releaseDrain: () => {
      const d = drained;
      drained = undefined;
      d?.();
    },
    receiver: new FakeReceiver(
      script,
      (p) => listener?.message(encodePacket(p)),
      () => listener?.end(),
    ),
    channel: {
      write(frames, done) {
        t.writes.push(frames.byteLength);
        for (let pos = 0; pos < frames.byteLength;) {
          const len = frames.readUInt32BE(pos + 1);
          t.receiver.take(decodePacket(frames.subarray(pos + 5, pos + 5 + len)));
          pos += 5 + len;
        }
        // Reused by the sender from here on: scribble over it to catch a use after done().
        setImmediate(() => {
          frames.fill(0xee);
          done?.();
        });
        return !t.block;
      },
      drain: () => (t.block ? new Promise<void>((r) => (drained = r)) : Promise.resolve()),
      end: () => {
        t.receiver.ended = true;
      },
      listen: (l) => {
        listener = l;
      },
      release: () => {
        listener = undefined;
      },
    },
  };
  return t;
}

function send(t: FrameTransport, opts: SendOptions = {}, signal = new AbortController().signal) {
  return sendDiffCopyFrames(t.channel, src, opts, signal);
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

describe('sendDiffCopyFrames', () => {
  it('lists in walk order, sends what is requested in 32 KiB chunks, then the FIN handshake', async () => {
    await mkdir(path.join(src, 'dir', 'nested'), { recursive: true });
    await mkdir(path.join(src, 'node_modules'));
    await writeFile(path.join(src, 'node_modules', 'x.js'), 'x');
    await writeFile(path.join(src, 'a.txt'), 'alpha\n');
    await writeFile(path.join(src, 'B.txt'), 'bravo\n');
    await writeFile(path.join(src, 'empty'), '');
    await writeFile(path.join(src, 'big'), 'b'.repeat(100_000));
    await writeFile(path.join(src, 'exact'), 'e'.repeat(64 * 1024));
    await writeFile(path.join(src, 'dir', 'nested', 'c.go'), 'package c\n');
    await writeFile(path.join(src, 'dir', 'é.txt'), 'accent');
    await writeFile(path.join(src, 'dir', 'z.txt'), 'zulu');
    await writeFile(path.join(src, 'dir', '😀'), 'emoji');
    await writeFile(path.join(src, 'dir', '\ue000'), 'private use');
    await symlink('a.txt', path.join(src, 'link'));
    await link(path.join(src, 'a.txt'), path.join(src, 'hard'));
    const t = frameTransport();
    const progress: number[] = [];
    await send(t, {
      excludePatterns: ['node_modules'],
      mapStat: (s) => ({ ...s, uid: 0, gid: 0 }),
      onProgress: (b) => progress.push(b),
    });
    const r = t.receiver;
    expect(r.stats.map((s) => s.path)).toEqual([
      'B.txt',
      'a.txt',
      'big',
      'dir',
      'dir/nested',
      'dir/nested/c.go',
      'dir/z.txt',
      'dir/é.txt',
      'dir/\ue000',
      'dir/😀',
      'empty',
      'exact',
      'hard',
      'link',
    ]);
    expect(r.stats.every((s) => s.uid === 0 && s.gid === 0)).toBe(true);
    expect(r.stats.find((s) => s.path === 'hard')).toMatchObject({ linkname: 'a.txt', size: 0n });
    expect(r.stats.find((s) => s.path === 'link')).toMatchObject({ linkname: 'a.txt' });
    expect(r.content('a.txt')).toBe('alpha\n');
    expect(r.content('big')).toBe('b'.repeat(100_000));
    expect(r.content('exact')).toBe('e'.repeat(64 * 1024));
    expect(r.content('empty')).toBe('');
    expect(r.content('dir/😀')).toBe('emoji');
    expect(r.content('dir/\ue000')).toBe('private use');
    expect(Math.max(...r.chunkSizes)).toBe(32 * 1024);
    const total = r.chunkSizes.reduce((a, b) => a + b, 0);
    expect(progress.at(-1)).toBe(total);
    expect(r.finReceived).toBe(true);
    expect(r.ended).toBe(true);
    // The stream ends with the FIN: nothing after it.
    expect(r.received.at(-1)).toEqual({ type: PacketType.Fin });
  });

  it('sends only the requested files, vanished ones as empty, changed ones as they are now', async () => {
    for (const n of ['keep', 'skip', 'gone', 'grows', 'shrinks'])
      await writeFile(path.join(src, n), `${n} `.repeat(1000));
    const t = frameTransport({
      request: (s) => s.path !== 'skip',
      onStat: (s) => {
        if (s.path === 'gone') execFileSync('rm', [path.join(src, 'gone')]);
        if (s.path === 'grows') execFileSync('sh', ['-c', `printf more >> ${path.join(src, 'grows')}`]);
        if (s.path === 'shrinks') execFileSync('truncate', ['-s', '10', path.join(src, 'shrinks')]);
      },
    });
    await send(t);
    const r = t.receiver;
    expect(r.content('keep')).toBe('keep '.repeat(1000));
    expect(r.content('skip')).toBeUndefined();
    expect(r.content('gone')).toBe('');
    expect(r.content('grows')).toBe(`${'grows '.repeat(1000)}more`);
    expect(r.content('shrinks')).toBe('shrinks sh');
    expect(r.finReceived).toBe(true);
  });

  it('does not read through a symlink or block on a FIFO that replaced a listed file', async () => {
    const secret = path.join(tmp, 'secret');
    await writeFile(secret, 'SECRET');
    await writeFile(path.join(src, 'fifo'), 'was a file');
    await writeFile(path.join(src, 'link'), 'was a file');
    const fifo = path.join(src, 'fifo');
    // A blocking open() of the FIFO would stop the event loop (no timer could fire): a writer
    // comes after 2 s to let it go on, so the test fails instead of hanging.
    const writer = spawn('timeout', ['4', 'sh', '-c', `sleep 2; : > ${fifo}`], { stdio: 'ignore' });
    try {
      const t = frameTransport({
        onStat: (s) => {
          const p = path.join(src, s.path);
          execFileSync('rm', [p]);
          if (s.path === 'fifo') execFileSync('mkfifo', [p]);
          else execFileSync('ln', ['-s', secret, p]);
        },
      });
      const started = Date.now();
      await send(t);
      expect(Date.now() - started).toBeLessThan(1500);
      // As a file that vanished: sent empty.
      expect(t.receiver.content('link')).toBe('');
      expect(t.receiver.content('fifo')).toBe('');
    } finally {
      writer.kill();
    }
  }, 15_000);

  it('fails on a request for an unknown id, or for the same file twice', async () => {
    await writeFile(path.join(src, 'a'), 'a');
    await mkdir(path.join(src, 'd'));
    for (const answer of [
      [{ type: PacketType.Req, id: 7 }],
      [
        { type: PacketType.Req, id: 0 },
        { type: PacketType.Req, id: 0 },
      ],
    ] as Packet[][]) {
      const t = frameTransport({ answer });
      await expect(send(t)).rejects.toThrow(FileSyncProtocolError);
    }
    // A directory's id cannot be requested either.
    const t = frameTransport({ answer: [{ type: PacketType.Req, id: 1 }] });
    await expect(send(t)).rejects.toThrow(/invalid file id 1/);
  });

  it('reports an error packet from the receiver, and a receiver that leaves early', async () => {
    await writeFile(path.join(src, 'a'), 'a');
    const err = frameTransport({ answer: [{ type: PacketType.Err, data: Buffer.from('disk full') }] });
    await expect(send(err)).rejects.toThrow(/error from receiver: disk full/);
    const gone = frameTransport({ request: () => false, hangUpAfterListing: true });
    await expect(send(gone)).rejects.toThrow(FileSyncRemoteError);
  });

  it('sends an ERR packet after what it listed when the walk fails', async () => {
    const missing = frameTransport();
    await expect(
      sendDiffCopyFrames(missing.channel, path.join(tmp, 'nowhere'), {}, new AbortController().signal),
    ).rejects.toThrow(InvalidArgumentError);
    expect(missing.receiver.received).toEqual([{ type: PacketType.Err, data: expect.anything() }]);

    // A path longer than PATH_MAX cannot be stat'ed: the walk fails half way.
    await writeFile(path.join(src, 'a'), 'a');
    const deep = `const fs = require('fs'); process.chdir(${JSON.stringify(src)});
      for (let i = 0; i < 25; i++) { fs.mkdirSync('${'d'.repeat(200)}'); process.chdir('${'d'.repeat(200)}'); }
      fs.writeFileSync('f', 'x');`;
    // Relative steps: the absolute path is too long for the syscalls.
    execFileSync(process.execPath, ['-e', deep]);
    const t = frameTransport({ request: () => false });
    await expect(send(t)).rejects.toThrow(/ENAMETOOLONG/);
    const got = t.receiver.received;
    expect(got[0]).toMatchObject({ type: PacketType.Stat, stat: { path: 'a' } });
    expect(got.at(-1)).toMatchObject({ type: PacketType.Err });
    expect(Buffer.from((got.at(-1) as { data: Uint8Array }).data).toString()).toMatch(/ENAMETOOLONG/);
  });

  it('stops promptly on abort, mid-file or while the channel is full, and closes what it opened', async () => {
    await writeFile(path.join(src, 'big'), Buffer.alloc(8 * 1024 * 1024, 1));
    await writeFile(path.join(src, 'small'), 'x');
    const before = openFds();
    const ac = new AbortController();
    const t = frameTransport({ onData: () => ac.abort(new Error('user pressed ^C')) });
    await expect(send(t, {}, ac.signal)).rejects.toThrow('user pressed ^C');
    expect(openFds()).toBe(before);
    // Stopped after the batch in flight: far from all of the 8 MiB file.
    const sent = t.receiver.chunkSizes.reduce((a, b) => a + b, 0);
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(1024 * 1024);

    const blocked = frameTransport();
    blocked.block = true;
    const ac2 = new AbortController();
    const p = send(blocked, {}, ac2.signal);
    await new Promise((r) => setTimeout(r, 50));
    // One write, then it waits for the channel to drain.
    expect(blocked.writes.length).toBe(1);
    ac2.abort('stop');
    await expect(p).rejects.toThrow(/file sync canceled: stop/);
    expect(openFds()).toBe(before);
  });

  it('waits for the channel to drain before writing more', async () => {
    await writeFile(path.join(src, 'big'), Buffer.alloc(4 * 1024 * 1024, 2));
    const t = frameTransport();
    t.block = true;
    // Checked where it happens, not by timing: no write while the sender waits for a drain.
    let waiting = false;
    let waits = 0;
    let writesWhileWaiting = 0;
    const { write, drain } = t.channel;
    t.channel.write = (frames, done) => {
      if (waiting) writesWhileWaiting++;
      return write(frames, done);
    };
    t.channel.drain = () => {
      waiting = true;
      waits++;
      return drain().then(() => {
        waiting = false;
      });
    };
    const p = send(t);
    for (let i = 0; i < 200 && !t.receiver.finReceived; i++) {
      await new Promise((r) => setTimeout(r, 5));
      t.releaseDrain();
    }
    expect(waits).toBeGreaterThan(1);
    expect(writesWhileWaiting).toBe(0);
    t.block = false;
    t.releaseDrain();
    await p;
    expect(t.receiver.content('big')).toBe(Buffer.alloc(4 * 1024 * 1024, 2).toString());
    // Bounded: no write much larger than a batch.
    expect(Math.max(...t.writes)).toBeLessThan(512 * 1024);
  });
});

describe('sendDiffCopy over a PacketStream', () => {
  it('sends the same packets as over a frame channel', async () => {
    await mkdir(path.join(src, 'd'));
    await writeFile(path.join(src, 'd', 'f'), 'f'.repeat(70_000));
    await writeFile(path.join(src, 'h'), '');
    await symlink('d/f', path.join(src, 'l'));

    const framed = frameTransport();
    await send(framed);

    const incoming: Packet[] = [];
    let wake: (() => void) | undefined;
    const receiver = new FakeReceiver(
      {},
      (p) => {
        incoming.push(p);
        wake?.();
      },
      () => {},
    );
    let ended = false;
    const stream: PacketStream = {
      send: async (p) => {
        // Copy now, as a real stream encodes before send() resolves.
        receiver.take(decodePacket(encodePacket(p)));
      },
      end: () => {
        ended = true;
      },
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          while (incoming.length === 0) await new Promise<void>((r) => (wake = r));
          return { done: false, value: incoming.shift()! };
        },
      }),
    };
    await sendDiffCopy(stream, src, {}, new AbortController().signal);
    expect(ended).toBe(true);
    expect(receiver.finReceived).toBe(true);
    expect(receiver.stats).toEqual(framed.receiver.stats);
    expect(receiver.files).toEqual(framed.receiver.files);
  });
});
