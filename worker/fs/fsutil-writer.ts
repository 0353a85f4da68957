import { Worker } from 'node:worker_threads';

/**
 * Writes the small new files of a DiffCopy receive on a worker thread. A received file costs its
 * receiver create, write, futimes and close (plus hashing); with those on the event loop the
 * receiver was the bottleneck of a many-small-files transfer while the other core sat half idle.
 * The receiver keeps the protocol, the directories and anything that replaces an existing entry;
 * the worker only creates files where nothing was (falling back to write-and-rename if something
 * appeared), in the order given. Batches go out once per event-loop turn as one transferred buffer.
 */

export interface SmallFile {
  /** Path relative to the destination, for digests and errors. */
  readonly rel: string;
  /** Absolute target path. */
  readonly path: string;
  readonly data: readonly Uint8Array[];
  /** Permission bits to create the file with. */
  readonly createMode: number;
  /** fchmod after writing (bits the umask or open(2) would not give), if any. */
  readonly chmod: number | undefined;
  /** fchown after writing, if any. */
  readonly chown: readonly [uid: number, gid: number] | undefined;
  readonly mtimeSeconds: number;
  /** When set, the worker returns sha256(header ‖ content) if the content has `expectedSize` bytes. */
  readonly digestHeader: string | undefined;
  readonly expectedSize: number;
}

/**
 * A batch as posted: structured clone of an object per file cost more than writing the file, so
 * the fields travel as one path string and one Float64Array, the digest headers in the buffer of
 * the content, all cheap to send.
 */
interface Batch {
  seq: number;
  /** Absolute paths, NUL-separated (a validated path holds no NUL). */
  paths: string;
  /** FIELDS numbers per file, see the F_* offsets; -1 where a field does not apply. */
  nums: Float64Array;
  /** The files' content at the offsets in `nums`; the worker sends it back for reuse. */
  buf: Uint8Array;
}

const F_OFF = 0;
const F_LEN = 1;
const F_CREATE_MODE = 2;
const F_CHMOD = 3;
const F_UID = 4;
const F_GID = 5;
const F_MTIME = 6;
const F_EXPECTED = 7;
/** Bytes of the digest header, which lies just before the content (-1: no digest). */
const F_HEADER = 8;
const FIELDS = 9;

interface BatchResult {
  seq: number;
  /** The batch's buffers, returned (transferred) for the next batches. */
  buf: Uint8Array;
  nums: Float64Array;
  /** One entry per file of the batch, `\n`-separated; empty when there is no digest. */
  digests: string;
  error?: { message: string; code?: string; index: number };
}

const textEncoder = new TextEncoder();

/** Batches are posted when they reach this size, else at the end of the event-loop turn. */
const BATCH_BYTES = 1024 * 1024;
/** Files per batch the number array is first sized for; it grows as needed. */
const BATCH_FILES = 256;
/** The receiver waits while this much is posted and not yet written. */
const MAX_OUTSTANDING_BYTES = 16 * 1024 * 1024;

/**
 * The worker's code. A string, run with `eval: true`, so the same source works from dist/ and
 * under vitest (which rewrites `import()` in transformed functions); it loads its modules with
 * `require` when the eval'd code runs as CommonJS, with `import()` when it runs as a module. Kept
 * small: it is not type-checked, test/session/receive-digests.test.ts and many-files.test.ts
 * exercise it.
 */
const workerCode = `(async () => {
  // require where the eval'd code runs as CommonJS: it spares the worker the ES module loader's start-up.
  const load = typeof require === 'function' ? async (m) => require(m) : (m) => import(m);
  const { parentPort } = await load('node:worker_threads');
  const fs = await load('node:fs');
  const { createHash, hash, randomBytes } = await load('node:crypto');
  // One call per file where Node has it (20.12+): no Hash object for a few KiB.
  const sha256 = hash ? (b) => hash('sha256', b, 'hex') : (b) => createHash('sha256').update(b).digest('hex');
  const C = fs.constants;
  const flags = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
  parentPort.on('message', (batch) => {
    const paths = batch.paths.split('\\0');
    const digests = [];
    let error;
    for (let i = 0; i < paths.length; i++) {
      const target = paths[i];
      const n = batch.nums.subarray(i * ${FIELDS}, (i + 1) * ${FIELDS});
      const createMode = n[${F_CREATE_MODE}];
      let created;
      try {
        let tmp;
        let fd;
        try {
          fd = fs.openSync(target, flags, createMode);
          created = target;
        } catch (err) {
          if (err.code !== 'EEXIST') throw err;
          // Something appeared since the listing: write a new file and rename it over.
          tmp = target.slice(0, target.lastIndexOf('/')) + '/.kiln-sync-' + randomBytes(6).toString('hex');
          fd = fs.openSync(tmp, flags, createMode);
          created = tmp;
        }
        let digest = '';
        try {
          const data = batch.buf.subarray(n[${F_OFF}], n[${F_OFF}] + n[${F_LEN}]);
          let off = 0;
          while (off < data.byteLength) off += fs.writeSync(fd, data, off, data.byteLength - off);
          if (n[${F_UID}] >= 0) fs.fchownSync(fd, n[${F_UID}], n[${F_GID}]);
          if (n[${F_CHMOD}] >= 0) fs.fchmodSync(fd, n[${F_CHMOD}]);
          fs.futimesSync(fd, n[${F_MTIME}], n[${F_MTIME}]);
          const headerLen = n[${F_HEADER}];
          if (headerLen >= 0 && data.byteLength === n[${F_EXPECTED}])
            digest = 'sha256:' + sha256(batch.buf.subarray(n[${F_OFF}] - headerLen, n[${F_OFF}] + n[${F_LEN}]));
        } finally {
          fs.closeSync(fd);
        }
        if (tmp !== undefined) {
          const st = fs.lstatSync(target, { throwIfNoEntry: false });
          if (st && st.isDirectory()) fs.rmSync(target, { recursive: true, force: true });
          fs.renameSync(tmp, target);
        }
        created = undefined;
        digests.push(digest);
      } catch (err) {
        if (created !== undefined) fs.rmSync(created, { force: true });
        error = { message: String(err && err.message), index: i };
        if (err && typeof err.code === 'string') error.code = err.code;
        break;
      }
    }
    const result = { seq: batch.seq, digests: digests.join('\\n'), buf: batch.buf, nums: batch.nums };
    if (error) result.error = error;
    parentPort.postMessage(result, [batch.buf.buffer, batch.nums.buffer]);
  });
})();
`;

export class OffThreadWriter {
  private readonly worker: Worker;
  /**
   * The batch being filled: content copied in as files are given (no per-file objects kept), into
   * buffers the worker hands back, so a transfer allocates a few buffers rather than one per batch.
   */
  private buf: Uint8Array | undefined;
  private nums: Float64Array | undefined;
  private count = 0;
  private pendingBytes = 0;
  private paths: string[] = [];
  private rels: string[] = [];
  private readonly freeBufs: Uint8Array[] = [];
  private readonly freeNums: Float64Array[] = [];
  private flushScheduled = false;
  private seq = 0;
  /** Posted batches: their size and the relative paths of their files, for digests and errors. */
  private readonly outstanding = new Map<number, { size: number; rels: string[] }>();
  private outstandingBytes = 0;
  private failure: Error | undefined;
  private waiters: (() => void)[] = [];
  private closed = false;
  /** The thread is gone (crashed or exited): nothing outstanding will be answered. */
  private dead = false;

  constructor(private readonly onDigest: (rel: string, digest: string) => void) {
    this.worker = new Worker(workerCode, { eval: true });
    this.worker.unref();
    this.worker.on('message', (r: BatchResult) => this.onResult(r));
    this.worker.on('error', (err) => {
      this.dead = true;
      this.fail(err);
    });
    this.worker.on('exit', (code) => {
      this.dead = true;
      if (!this.closed) this.fail(new Error(`file writer thread exited (${code})`));
    });
  }

  /** The first error of the worker, if any; the receiver checks it as it goes. */
  get error(): Error | undefined {
    return this.failure;
  }

  write(file: SmallFile): void {
    if (this.failure) throw this.failure;
    let size = 0;
    for (const d of file.data) size += d.byteLength;
    // The digest header goes in front of the content, so the worker hashes both in one call.
    const header = file.digestHeader;
    const room = size + (header === undefined ? 0 : header.length * 3);
    if (this.buf !== undefined && this.pendingBytes + room > this.buf.byteLength) this.flush();
    if (this.buf === undefined) {
      this.buf =
        room <= BATCH_BYTES ? (this.freeBufs.pop() ?? new Uint8Array(BATCH_BYTES)) : new Uint8Array(room);
      this.nums = this.freeNums.pop() ?? new Float64Array(BATCH_FILES * FIELDS);
    }
    if ((this.count + 1) * FIELDS > this.nums!.length) {
      const grown = new Float64Array(this.nums!.length * 2);
      grown.set(this.nums!);
      this.nums = grown;
    }
    const buf = this.buf;
    let headerLen = -1;
    if (header !== undefined)
      headerLen = textEncoder.encodeInto(header, buf.subarray(this.pendingBytes)).written;
    const start = this.pendingBytes + Math.max(headerLen, 0);
    let off = start;
    for (const d of file.data) {
      buf.set(d, off);
      off += d.byteLength;
    }
    const nums = this.nums!;
    const n = this.count * FIELDS;
    nums[n + F_OFF] = start;
    nums[n + F_LEN] = size;
    nums[n + F_CREATE_MODE] = file.createMode;
    nums[n + F_CHMOD] = file.chmod ?? -1;
    nums[n + F_UID] = file.chown?.[0] ?? -1;
    nums[n + F_GID] = file.chown?.[1] ?? -1;
    nums[n + F_MTIME] = file.mtimeSeconds;
    nums[n + F_EXPECTED] = file.expectedSize;
    nums[n + F_HEADER] = headerLen;
    this.paths.push(file.path);
    this.rels.push(file.rel);
    this.count++;
    this.pendingBytes = off;
    if (this.pendingBytes >= BATCH_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  /** Whether the receiver should wait (backpressure) before handing over more. */
  get busy(): boolean {
    return this.outstandingBytes >= MAX_OUTSTANDING_BYTES || this.failure !== undefined;
  }

  /** Waits while too much is posted and not yet written. */
  async backpressure(): Promise<void> {
    while (this.outstandingBytes >= MAX_OUTSTANDING_BYTES && !this.failure) await this.nextResult();
    if (this.failure) throw this.failure;
  }

  /** Waits until everything given so far is on disk (and its digest reported). */
  async drain(): Promise<void> {
    this.flush();
    while (this.outstanding.size > 0 && !this.failure) await this.nextResult();
    if (this.failure) throw this.failure;
  }

  /** Lets posted batches finish (no file is left half open) and stops the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.resetBatch();
    // Even after a failure: later batches may be mid-file, and terminating would leak their fds.
    while (this.outstanding.size > 0 && !this.dead) await this.nextResult();
    this.closed = true;
    await this.worker.terminate();
  }

  private resetBatch(): void {
    this.buf = undefined;
    this.nums = undefined;
    this.count = 0;
    this.pendingBytes = 0;
    this.paths = [];
    this.rels = [];
  }

  private flush(): void {
    if (this.count === 0 || this.failure || this.closed) return;
    const size = this.pendingBytes;
    const seq = this.seq++;
    this.outstanding.set(seq, { size, rels: this.rels });
    this.outstandingBytes += size;
    const batch: Batch = {
      seq,
      paths: this.paths.join('\0'),
      nums: this.nums!.subarray(0, this.count * FIELDS),
      buf: this.buf!,
    };
    // Transferred, not cloned; the worker sends both back with its result.
    this.worker.postMessage(batch, [this.buf!.buffer as ArrayBuffer, this.nums!.buffer as ArrayBuffer]);
    this.resetBatch();
  }

  private onResult(r: BatchResult): void {
    if (r.buf.byteLength === BATCH_BYTES && this.freeBufs.length < MAX_OUTSTANDING_BYTES / BATCH_BYTES)
      this.freeBufs.push(r.buf);
    if (this.freeNums.length < 4) this.freeNums.push(new Float64Array(r.nums.buffer));
    const b = this.outstanding.get(r.seq);
    this.outstanding.delete(r.seq);
    this.outstandingBytes -= b?.size ?? 0;
    if (b && r.digests !== '') {
      const digests = r.digests.split('\n');
      digests.forEach((d, i) => {
        if (d !== '') this.onDigest(b.rels[i]!, d);
      });
    }
    if (r.error) {
      const rel = b?.rels[r.error.index] ?? '?';
      const err = Object.assign(new Error(`writing ${rel}: ${r.error.message}`), {
        ...(r.error.code === undefined ? {} : { code: r.error.code }),
      });
      this.fail(err);
    }
    this.wakeAll();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private nextResult(): Promise<void> {
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}
