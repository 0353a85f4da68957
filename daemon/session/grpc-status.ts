import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  CanceledError,
  ErrorCodes,
  InvalidArgumentError,
  KilnError,
  NotFoundError,
  UnimplementedError,
} from '../../proto/errors.js';

/** A session RPC failed with a gRPC status; keeps the numeric code for callers that branch on it. */
export class SessionCallError extends KilnError {
  readonly grpcCode: number;
  constructor(code: KilnError['code'], grpcCode: number, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SessionCallError';
    this.grpcCode = grpcCode;
  }
}

/** The grpc-message trailer is percent-encoded (gRPC over HTTP/2 spec). */
export function decodeGrpcMessage(raw: string | undefined): string {
  if (raw === undefined) return '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Turns a non-OK gRPC status from a session call into Kiln's typed errors. */
export function errorFromGrpcStatus(code: number, message: string, method: string): KilnError {
  const text = `${method}: ${message || `gRPC status ${code}`}`;
  switch (code) {
    case GrpcStatus.NOT_FOUND:
      return new NotFoundError(text);
    case GrpcStatus.UNIMPLEMENTED:
      return new UnimplementedError(text);
    case GrpcStatus.CANCELLED:
      return new CanceledError(text);
    case GrpcStatus.INVALID_ARGUMENT:
      return new InvalidArgumentError(text);
    case GrpcStatus.ALREADY_EXISTS:
      return new SessionCallError(ErrorCodes.AlreadyExists, code, text);
    case GrpcStatus.FAILED_PRECONDITION:
      return new SessionCallError(ErrorCodes.FailedPrecondition, code, text);
    case GrpcStatus.PERMISSION_DENIED:
      return new SessionCallError(ErrorCodes.PermissionDenied, code, text);
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new SessionCallError(ErrorCodes.Unavailable, code, text);
    default:
      return new SessionCallError(ErrorCodes.Internal, code, text);
  }
}
