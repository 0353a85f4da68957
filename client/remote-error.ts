import { status as GrpcStatus } from '@grpc/grpc-js';
import { decodeMessage } from '../proto/codec.js';
import type { ErrorCode, SourceLocation } from '../proto/errors.js';
import { ErrorCodes, KilnError, sourceLocationFromDetails } from '../proto/errors.js';
import type { Status__Output } from '../proto/generated/google/rpc/Status.js';
import { isServiceError } from './rpc.js';

const codeByGrpc: Partial<Record<number, ErrorCode>> = {
  [GrpcStatus.INVALID_ARGUMENT]: ErrorCodes.InvalidArgument,
  [GrpcStatus.NOT_FOUND]: ErrorCodes.NotFound,
  [GrpcStatus.ALREADY_EXISTS]: ErrorCodes.AlreadyExists,
  [GrpcStatus.FAILED_PRECONDITION]: ErrorCodes.FailedPrecondition,
  [GrpcStatus.UNIMPLEMENTED]: ErrorCodes.Unimplemented,
  [GrpcStatus.CANCELLED]: ErrorCodes.Canceled,
  [GrpcStatus.UNAVAILABLE]: ErrorCodes.Unavailable,
  [GrpcStatus.PERMISSION_DENIED]: ErrorCodes.PermissionDenied,
};

/** An error the daemon returned, with the gRPC status kept for Return{error} and exit handling. */
export class RemoteError extends KilnError {
  readonly grpcCode: number;
  /** The full google.rpc.Status when the daemon sent one (grpc-status-details-bin). */
  readonly status: Status__Output | undefined;
  constructor(
    message: string,
    grpcCode: number,
    options: { cause?: unknown; location?: SourceLocation; status?: Status__Output } = {},
  ) {
    super(codeByGrpc[grpcCode] ?? ErrorCodes.Internal, message, options);
    this.name = 'RemoteError';
    this.grpcCode = grpcCode;
    this.status = options.status;
  }
}

/** The google.rpc.Status carried in `grpc-status-details-bin`, if any. */
export function statusDetails(err: unknown): Status__Output | undefined {
  if (!isServiceError(err)) return undefined;
  const raw = err.metadata?.get('grpc-status-details-bin')[0];
  if (raw === undefined || typeof raw === 'string') return undefined;
  try {
    return decodeMessage<Status__Output>('google.rpc.Status', raw);
  } catch {
    return undefined;
  }
}

/** errdefs.Source (JSON in v0.11) → file:line, the offending line and the whole Dockerfile. */
export function sourceLocation(status: Status__Output | undefined): SourceLocation | undefined {
  return sourceLocationFromDetails(status?.details ?? []);
}

/** Converts a grpc-js error into a RemoteError whose message is the daemon's text, prefixed. */
export function fromGrpcError(err: unknown, prefix?: string): Error {
  if (!isServiceError(err)) return err instanceof Error ? err : new Error(String(err));
  const status = statusDetails(err);
  const text = err.details !== '' ? err.details : err.message;
  const location = sourceLocation(status);
  return new RemoteError(prefix === undefined ? text : `${prefix}: ${text}`, err.code, {
    cause: err,
    ...(location === undefined ? {} : { location }),
    ...(status === undefined ? {} : { status }),
  });
}
