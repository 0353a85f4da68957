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
 * the fields travel as one path string, one header string and one Float64Array, all cheap to send.
 */
interface Batch {
  seq: number;
  /** Absolute paths, NUL-separated (a validated path holds no NUL). */
  paths: string;
  /** Digest headers, `\n`-separated (a header holds digits, NULs and a type name only). */
  headers: string;
  /** FIELDS numbers per file, see the F_* offsets; -1 where a field does not apply. */
  nums: Float64Array;
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
const FIELDS = 8;

interface BatchResult {
  seq: number;
  /** One entry per file of the batch, `\n`-separated; empty when there is no digest. */
  digests: string;
  error?: { message: string; code?: string; index: number };
}

/** Batches are posted when they reach this size, else at the end of the event-loop turn. */
const BATCH_BYTES = 1024 * 1024;
/** The receiver waits while this much is posted and not yet written. */
const MAX_OUTSTANDING_BYTES = 16 * 1024 * 1024;

/**
 * The worker's code. A string, run with `eval: true`, so the same source works from dist/ and
 * under vitest (which rewrites `import()` in transformed functions); `import()` rather than
 * `require` works whether the eval'd code runs as CommonJS or as a module. Kept small: it is not
 * type-checked, test/session/receive-digests.test.ts and many-files.test.ts exercise it.
 */
const workerCode = `(async () => {
  const { parentPort } = await import('node:worker_threads');
  const fs = await import('node:fs');
  const { createHash, randomBytes } = await import('node:crypto');
  const C = fs.constants;
  const flags = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
  parentPort.on('message', (batch) => {
    const paths = batch.paths.split('\\0');
    const headers = batch.headers === '' ? [] : batch.headers.split('\\n');
    const digests = [];
    let error;
    for (let i = 0; i < paths.length; i++) {
      const target = paths[i];
      const n = batch.nums.subarray(i * ${FIELDS}, (i + 1) * ${FIELDS});
      const createMode = n[${F_CREATE_MODE}];
      const header = headers[i];
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
          if (header !== undefined && header !== '' && data.byteLength === n[${F_EXPECTED}])
            digest = 'sha256:' + createHash('sha256').update(header).update(data).digest('hex');
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
    parentPort.postMessage(error ? { seq: batch.seq, digests: digests.join('\\n'), error } : { seq: batch.seq, digests: digests.join('\\n') });
  });
})();
`;

export class OffThreadWriter {
  private readonly worker: Worker;
  private pending: SmallFile[] = [];
  private pendingBytes = 0;
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
    this.pending.push(file);
    for (const d of file.data) this.pendingBytes += d.byteLength;
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
    this.pending = [];
    this.pendingBytes = 0;
    // Even after a failure: later batches may be mid-file, and terminating would leak their fds.
    while (this.outstanding.size > 0 && !this.dead) await this.nextResult();
    this.closed = true;
    await this.worker.terminate();
  }

  private flush(): void {
    if (this.pending.length === 0 || this.failure || this.closed) return;
    const files = this.pending;
    const size = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    // One buffer of its own per batch, transferred rather than cloned.
    const buf = new Uint8Array(size);
    const nums = new Float64Array(files.length * FIELDS);
    const paths: string[] = [];
    const headers: string[] = [];
    const rels: string[] = [];
    let anyHeader = false;
    let off = 0;
    files.forEach((f, i) => {
      const start = off;
      for (const d of f.data) {
        buf.set(d, off);
        off += d.byteLength;
      }
      const n = i * FIELDS;
      nums[n + F_OFF] = start;
      nums[n + F_LEN] = off - start;
      nums[n + F_CREATE_MODE] = f.createMode;
      nums[n + F_CHMOD] = f.chmod ?? -1;
      nums[n + F_UID] = f.chown?.[0] ?? -1;
      nums[n + F_GID] = f.chown?.[1] ?? -1;
      nums[n + F_MTIME] = f.mtimeSeconds;
      nums[n + F_EXPECTED] = f.expectedSize;
      paths.push(f.path);
      headers.push(f.digestHeader ?? '');
      if (f.digestHeader !== undefined) anyHeader = true;
      rels.push(f.rel);
    });
    const seq = this.seq++;
    this.outstanding.set(seq, { size, rels });
    this.outstandingBytes += size;
    const batch: Batch = {
      seq,
      paths: paths.join('\0'),
      headers: anyHeader ? headers.join('\n') : '',
      nums,
      buf,
    };
    this.worker.postMessage(batch, [buf.buffer, nums.buffer]);
  }

  private onResult(r: BatchResult): void {
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
