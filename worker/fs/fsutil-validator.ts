import { ErrorCodes, KilnError } from '../../proto/errors.js';
import { compareNames } from './walk.js';

/** A file-sync peer broke the protocol (bad path, order, unknown id, …); names the offending path. */
export class FileSyncProtocolError extends KilnError {
  readonly path: string | undefined;
  constructor(message: string, path?: string, options?: { cause?: unknown }) {
    super(ErrorCodes.InvalidArgument, message, options);
    this.name = 'FileSyncProtocolError';
    this.path = path;
  }
}

/** The sender reported an error (PACKET_ERR) or the transfer failed on its side. */
export class FileSyncRemoteError extends KilnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.Unavailable, message, options);
    this.name = 'FileSyncRemoteError';
  }
}

const DOT = 0x2e;

/** Throws unless `p` is a clean, relative, non-escaping `/`-separated path. */
export function checkRelativePath(p: string, what = 'path'): void {
  if (p === '' || p.includes('\0'))
    throw new FileSyncProtocolError(`invalid empty or NUL-containing ${what}`, p);
  if (p.startsWith('/'))
    throw new FileSyncProtocolError(`absolute ${what} ${JSON.stringify(p)} not allowed`, p);
  // Segment by segment without splitting: this runs for every entry of a transfer.
  let start = 0;
  for (;;) {
    const slash = p.indexOf('/', start);
    const end = slash < 0 ? p.length : slash;
    const len = end - start;
    if (len === 2 && p.charCodeAt(start) === DOT && p.charCodeAt(start + 1) === DOT)
      throw new FileSyncProtocolError(`${what} ${JSON.stringify(p)} escapes the destination`, p);
    if (len === 0 || (len === 1 && p.charCodeAt(start) === DOT))
      throw new FileSyncProtocolError(`invalid unclean ${what} ${JSON.stringify(p)}`, p);
    if (slash < 0) return;
    start = slash + 1;
  }
}

/**
 * fsutil's Validator: entries must arrive in walk order (pre-order, byte-sorted siblings, so `/`
 * sorts lowest) and every parent directory must have been sent, as a directory, before its children.
 */
export class WalkOrderValidator {
  private readonly stack: { dir: string; last: string | undefined }[] = [{ dir: '', last: undefined }];

  check(p: string, isDir: boolean): void {
    checkRelativePath(p);
    const slash = p.lastIndexOf('/');
    const dir = slash < 0 ? '' : p.slice(0, slash);
    const base = slash < 0 ? p : p.slice(slash + 1);
    while (this.stack.length > 1 && this.stack[this.stack.length - 1]?.dir !== dir) this.stack.pop();
    const top = this.stack[this.stack.length - 1]!;
    if (top.dir !== dir) {
      throw new FileSyncProtocolError(
        `changes out of order: ${JSON.stringify(p)} arrived before its parent directory ${JSON.stringify(dir)}`,
        p,
      );
    }
    if (top.last !== undefined && compareNames(top.last, base) >= 0) {
      const prev = dir === '' ? top.last : `${dir}/${top.last}`;
      throw new FileSyncProtocolError(
        `changes out of order: ${JSON.stringify(p)} after ${JSON.stringify(prev)}`,
        p,
      );
    }
    top.last = base;
    if (isDir) this.stack.push({ dir: p, last: undefined });
  }
}
