import * as grpc from '@grpc/grpc-js';
import { encodeMessage } from '../../proto/codec.js';
import {
  errorCodeFromGrpc,
  KilnError,
  sourceDetailTypeUrl,
  sourceLocationFromDetails,
  toGrpcStatus,
} from '../../proto/errors.js';
import type { Status } from '../../proto/generated/google/rpc/Status.js';
import type { DefinitionBytes, DefinitionSource } from '../../frontends/types.js';
import { VertexError } from '../solver/errors.js';

/**
 * An error as grpc-js sends it: code, text and, when the error has a source location, a
 * google.rpc.Status in `grpc-status-details-bin` carrying an errdefs.Source (util/grpcerrors).
 */
export function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  const { code, details, source } = toGrpcStatus(err);
  if (source === undefined) return { code, details };
  const status: Status = {
    code,
    message: details,
    details: [{ type_url: sourceDetailTypeUrl, value: Buffer.from(JSON.stringify(source)) }],
  };
  const metadata = new grpc.Metadata();
  metadata.set('grpc-status-details-bin', Buffer.from(encodeMessage('google.rpc.Status', status)));
  return { code, details, metadata };
}

function findVertexError(err: unknown): VertexError | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 16; e = e.cause, depth++) {
    if (e instanceof VertexError) return e;
  }
  return undefined;
}

/**
 * Points a failed op at the source line it came from: the definition's pb.Source maps op digests
 * to ranges of a source file (the Dockerfile), as BuildKit's llbsolver does with errdefs.Source.
 */
export function attachDefinitionSource(err: unknown, definition: DefinitionBytes): unknown {
  const source: DefinitionSource | undefined = definition.source;
  const vertexErr = findVertexError(err);
  if (!source || !vertexErr || !(err instanceof KilnError) || err.location?.data !== undefined) return err;
  const loc = source.locations[vertexErr.vertexDigest]?.locations[0];
  const info = loc ? source.infos[loc.sourceIndex ?? 0] : undefined;
  const range = loc?.ranges[0];
  if (!info || !range) return err;
  const data = new Uint8Array(info.data);
  const lines = Buffer.from(data).toString('utf8').split('\n');
  const text = lines[range.start.line - 1];
  err.location = {
    file: info.filename,
    line: range.start.line,
    endLine: range.end.line,
    data,
    ...(text === undefined ? {} : { text }),
  };
  return err;
}

/** Runs `fn` on a result; a failing op of its definition gets its source location. */
export async function withDefinitionSource<T>(
  result: { readonly definition: DefinitionBytes },
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw attachDefinitionSource(err, result.definition);
  }
}

/**
 * The error a client gateway returned (LLBBridge.Return{error}), keeping its code and, from the
 * status details, its source location, so the Solve caller gets them back.
 */
export function errorFromReturnStatus(status: {
  readonly code: number;
  readonly message: string;
  readonly details?: readonly { readonly type_url: string; readonly value: Uint8Array }[];
}): KilnError {
  const location = sourceLocationFromDetails(status.details ?? []);
  return new KilnError(
    errorCodeFromGrpc(status.code),
    status.message || `frontend failed with code ${status.code}`,
    location ? { location } : undefined,
  );
}
