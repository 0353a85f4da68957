import { status as GrpcStatus } from '@grpc/grpc-js';

/**
 * Every failure Kiln reports has a stable code. The code decides the gRPC status in one place
 * (toGrpcStatus) so the daemon never maps errors ad hoc.
 */
export const ErrorCodes = {
  InvalidArgument: 'INVALID_ARGUMENT',
  NotFound: 'NOT_FOUND',
  AlreadyExists: 'ALREADY_EXISTS',
  FailedPrecondition: 'FAILED_PRECONDITION',
  Unimplemented: 'UNIMPLEMENTED',
  Canceled: 'CANCELED',
  Unavailable: 'UNAVAILABLE',
  Internal: 'INTERNAL',
  PermissionDenied: 'PERMISSION_DENIED',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** A source location inside a build definition, e.g. a Dockerfile line. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  /** The offending line itself, shown to the user under the message. */
  readonly text?: string;
}

export class KilnError extends Error {
  readonly code: ErrorCode;
  readonly location: SourceLocation | undefined;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; location?: SourceLocation }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KilnError';
    this.code = code;
    this.location = options?.location;
  }
}

export class InvalidArgumentError extends KilnError {
  constructor(message: string, options?: { cause?: unknown; location?: SourceLocation }) {
    super(ErrorCodes.InvalidArgument, message, options);
    this.name = 'InvalidArgumentError';
  }
}

export class NotFoundError extends KilnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.NotFound, message, options);
    this.name = 'NotFoundError';
  }
}

export class UnimplementedError extends KilnError {
  constructor(message: string, options?: { cause?: unknown; location?: SourceLocation }) {
    super(ErrorCodes.Unimplemented, message, options);
    this.name = 'UnimplementedError';
  }
}

export class CanceledError extends KilnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.Canceled, message, options);
    this.name = 'CanceledError';
  }
}

const grpcByCode: Record<ErrorCode, GrpcStatus> = {
  INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  NOT_FOUND: GrpcStatus.NOT_FOUND,
  ALREADY_EXISTS: GrpcStatus.ALREADY_EXISTS,
  FAILED_PRECONDITION: GrpcStatus.FAILED_PRECONDITION,
  UNIMPLEMENTED: GrpcStatus.UNIMPLEMENTED,
  CANCELED: GrpcStatus.CANCELLED,
  UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  INTERNAL: GrpcStatus.UNKNOWN,
  PERMISSION_DENIED: GrpcStatus.PERMISSION_DENIED,
};

/** Formats an error for a person: the message, then `file:line` and the offending line. */
export function formatError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  let out = err.message;
  if (err instanceof KilnError && err.location) {
    const loc = err.location;
    out += `\n  --> ${loc.file}:${loc.line}`;
    if (loc.text !== undefined) out += `\n  ${loc.line} | ${loc.text}`;
  }
  return out;
}

/** The one place where errors become gRPC statuses. */
export function toGrpcStatus(err: unknown): { code: GrpcStatus; details: string } {
  if (err instanceof KilnError) return { code: grpcByCode[err.code], details: formatError(err) };
  if (err instanceof Error && err.name === 'AbortError')
    return { code: GrpcStatus.CANCELLED, details: err.message };
  return { code: GrpcStatus.UNKNOWN, details: err instanceof Error ? err.message : String(err) };
}

/** Throws the signal's reason, always an Error with a cause (never a bare cancel). */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    throw reason instanceof Error ? reason : new CanceledError(`canceled: ${String(reason)}`);
  }
}
