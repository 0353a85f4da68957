import type { LeasedChunk } from '../leased-chunk.js';
/**
 * Blobs by digest on disk (layers, configs, manifests). Writes go to a temp file, are verified
 * against the expected digest and size, fsynced and renamed into place, so a reader never sees a
 * partial or corrupt blob.
 */
export interface BlobInfo {
  readonly digest: string;
  readonly size: number;
}

export interface WriteOptions {
  /**
   * The caller hands each chunk over, with the whole ArrayBuffer under it: nothing else uses that
   * memory once the chunk is yielded. The blob is then hashed and written on a thread (the chunks'
   * buffers moved there, not copied) rather than on the event loop.
   */
  readonly handOver?: boolean;
}

export interface ContentStore {
  info(digest: string): Promise<BlobInfo | undefined>;
  /** Absolute path of a stored blob (read-only by convention), or undefined. */
  path(digest: string): Promise<string | undefined>;
  read(digest: string, signal: AbortSignal): AsyncIterable<Uint8Array>;
  /**
   * As read, in buffers the store reads into again once released (LeasedChunk): for a sender that
   * passes every chunk on and would otherwise allocate one per chunk.
   */
  readLeased(digest: string, signal: AbortSignal): AsyncIterable<LeasedChunk>;
  /**
   * Stores a stream. With `expected`, a digest or size mismatch fails and nothing is kept
   * (a corrupt or truncated download is never stored). Returns what was stored.
   */
  write(
    source: AsyncIterable<Uint8Array>,
    expected: { digest?: string; size?: number },
    signal: AbortSignal,
    options?: WriteOptions,
  ): Promise<BlobInfo>;
  /** Pins blobs while a build uses them; deleteUnreferenced never removes a leased blob. */
  lease(digests: Iterable<string>): AsyncDisposable;
  /** Removes blobs that are neither leased nor in `keep`; returns what was removed. */
  deleteUnreferenced(keep: ReadonlySet<string>, signal: AbortSignal): Promise<BlobInfo[]>;
}
