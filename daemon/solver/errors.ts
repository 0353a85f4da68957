import { ErrorCodes, KilnError } from '../../proto/errors.js';
import type { Vertex } from './types.js';

/**
 * An op failed. The message leads with the vertex name so the user sees which step broke; the
 * cause's code (e.g. INVALID_ARGUMENT from a bad mount) is kept so gRPC status mapping stays right.
 */
export class VertexError extends KilnError {
  readonly vertexDigest: string;
  readonly vertexName: string;
  constructor(vertex: Pick<Vertex, 'digest' | 'name'>, cause: unknown) {
    const inner = cause instanceof Error ? cause.message : String(cause);
    super(cause instanceof KilnError ? cause.code : ErrorCodes.Internal, `${vertex.name}: ${inner}`, {
      cause,
      ...(cause instanceof KilnError && cause.location ? { location: cause.location } : {}),
    });
    this.name = 'VertexError';
    this.vertexDigest = vertex.digest;
    this.vertexName = vertex.name;
  }
}

export class AlreadyExistsError extends KilnError {
  constructor(message: string) {
    super(ErrorCodes.AlreadyExists, message);
    this.name = 'AlreadyExistsError';
  }
}
