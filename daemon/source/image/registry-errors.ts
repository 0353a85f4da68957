import { ErrorCodes, KilnError } from '../../../proto/errors.js';

/** A registry said no, or could not be reached. `retryable` marks 5xx and dropped connections. */
export class RegistryError extends KilnError {
  readonly status: number | undefined;
  readonly retryable: boolean;
  constructor(
    code: KilnError['code'],
    message: string,
    opts: { status?: number; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(code, message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RegistryError';
    this.status = opts.status;
    this.retryable = opts.retryable ?? false;
  }
}

export function authRequired(action: 'pull' | 'push', name: string, status: number): RegistryError {
  return new RegistryError(
    ErrorCodes.PermissionDenied,
    `${action} access denied for ${name}: authentication required (HTTP ${status}); log in with docker login or check the repository name`,
    { status },
  );
}

export function imageNotFound(name: string): RegistryError {
  return new RegistryError(ErrorCodes.NotFound, `image ${name} not found`, { status: 404 });
}

export function notAManifest(name: string, mediaType: string): RegistryError {
  return new RegistryError(
    ErrorCodes.InvalidArgument,
    `${name} is not an image manifest or index (media type ${JSON.stringify(mediaType)})`,
  );
}

const retryableCodes = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** Whether a failed attempt is worth repeating (server trouble, not a refusal). */
export function isRetryable(err: unknown): boolean {
  if (err instanceof RegistryError) return err.retryable;
  if (err instanceof KilnError) return false;
  if (!(err instanceof Error)) return false;
  if (err.name === 'AbortError') return false;
  const code = (err as NodeJS.ErrnoException).code;
  return (code !== undefined && retryableCodes.has(code)) || /socket hang up|aborted/i.test(err.message);
}
