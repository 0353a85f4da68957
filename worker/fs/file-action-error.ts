import { ErrorCodes, KilnError } from '../../proto/errors.js';

const reasons: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  ENOTEMPTY: 'directory not empty',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many levels of symbolic links',
  ENOSPC: 'no space left on device',
};

/** A FileOp action failed on a path: `copy /src/x: no such file or directory`. */
export class FileActionError extends KilnError {
  readonly action: string;
  readonly path: string;
  constructor(
    action: string,
    path: string,
    reason: string,
    options?: { cause?: unknown; notFound?: boolean },
  ) {
    super(
      options?.notFound ? ErrorCodes.NotFound : ErrorCodes.FailedPrecondition,
      `${action} ${path}: ${reason}`,
      {
        cause: options?.cause,
      },
    );
    this.name = 'FileActionError';
    this.action = action;
    this.path = path;
  }

  /** Wraps a Node fs error (or rethrows anything that is not one, e.g. an abort). */
  static wrap(action: string, path: string, err: unknown): Error {
    if (err instanceof KilnError) return err;
    const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
    if (typeof code !== 'string') return err instanceof Error ? err : new Error(String(err));
    return new FileActionError(action, path, reasons[code] ?? code.toLowerCase(), {
      cause: err,
      notFound: code === 'ENOENT',
    });
  }
}
