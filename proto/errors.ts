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
  /** Last line of the range (inclusive) when it spans several, e.g. a continued instruction. */
  readonly endLine?: number;
  /** The offending line itself, shown to the user under the message. */
  readonly text?: string;
  /** The whole source file (pb.SourceInfo.data): lets clients print the lines around the range. */
  readonly data?: Uint8Array;
}

export class KilnError extends Error {
  readonly code: ErrorCode;
  /** Set at construction, or later by the layer that knows where the failing step came from. */
  location: SourceLocation | undefined;
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

/**
 * The lines around a location, as buildctl prints an errdefs.Source (solver/errdefs/source.go):
 * `Dockerfile:4`, a rule, ` %3d | >>> text` for lines in the range and `     ` context lines.
 */
export function formatSourceSnippet(loc: SourceLocation): string | undefined {
  if (loc.data === undefined) return undefined;
  const lines = Buffer.from(loc.data).toString('utf8').split('\n');
  const first = loc.line;
  const last = Math.max(first, loc.endLine ?? first);
  if (first < 1 || first > lines.length) return undefined;
  let start = first;
  let end = Math.min(last, lines.length);
  const pad = end === start ? 4 : 2;
  for (let p = 0; p < pad;) {
    if (start > 1) {
      start--;
      p++;
    }
    if (end !== lines.length) {
      end++;
      p++;
    }
    p++;
  }
  const rule = '--------------------';
  let out = `${loc.file}:${first}\n${rule}\n`;
  for (let i = start; i <= end; i++) {
    const marker = i >= first && i <= last ? '>>>' : '   ';
    out += ` ${String(i).padStart(3)} | ${marker} ${lines[i - 1] ?? ''}\n`;
  }
  return `${out}${rule}`;
}

/** The first source location on an error or its causes (a failing op keeps its step's). */
export function sourceLocationOf(err: unknown): SourceLocation | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 16; e = e.cause, depth++) {
    if (e instanceof KilnError && e.location) return e.location;
  }
  return undefined;
}

/** Formats an error for a person: the message, then where it happened in the source. */
export function formatError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  let out = err.message;
  if (err instanceof KilnError && err.location) {
    const loc = err.location;
    const snippet = formatSourceSnippet(loc);
    if (snippet !== undefined) return `${out}\n${snippet}`;
    out += `\n  --> ${loc.file}:${loc.line}`;
    if (loc.text !== undefined) out += `\n  ${loc.line} | ${loc.text}`;
  }
  return out;
}

/** BuildKit's errdefs.Source as v0.11 puts it in google.rpc.Status.details (JSON of the gogo struct). */
export const sourceDetailTypeUrl = 'github.com/moby/buildkit/errdefs.Source+json';

export interface SourceDetailJson {
  readonly info: { readonly filename: string; readonly data?: string; readonly language?: string };
  readonly ranges: readonly {
    readonly start: { readonly line: number; readonly character?: number };
    readonly end: { readonly line: number; readonly character?: number };
  }[];
}

/** The Kiln code of a gRPC status code (the inverse of toGrpcStatus' mapping; unknown → INTERNAL). */
export function errorCodeFromGrpc(code: number): ErrorCode {
  for (const [k, v] of Object.entries(grpcByCode)) if (v === code && k !== 'INTERNAL') return k as ErrorCode;
  return ErrorCodes.Internal;
}

/** errdefs.Source (JSON, v0.11) among google.rpc.Status details → the location it names. */
export function sourceLocationFromDetails(
  details: readonly { readonly type_url: string; readonly value: Uint8Array }[],
): SourceLocation | undefined {
  for (const d of details) {
    if (!d.type_url.endsWith('errdefs.Source+json') && !d.type_url.endsWith('errdefs.Source')) continue;
    try {
      const src = JSON.parse(Buffer.from(d.value).toString('utf8')) as Partial<SourceDetailJson>;
      const file = src.info?.filename;
      const line = src.ranges?.[0]?.start?.line;
      if (file === undefined || line === undefined) continue;
      const endLine = src.ranges?.[0]?.end?.line;
      const bytes = src.info?.data === undefined ? undefined : Buffer.from(src.info.data, 'base64');
      const text = bytes?.toString('utf8').split('\n')[line - 1];
      return {
        file,
        line,
        ...(endLine !== undefined && endLine >= line ? { endLine } : {}),
        ...(text === undefined ? {} : { text }),
        ...(bytes === undefined ? {} : { data: new Uint8Array(bytes) }),
      };
    } catch {
      // Details are optional; an undecodable one is skipped.
    }
  }
  return undefined;
}

export function sourceDetailJson(loc: SourceLocation): SourceDetailJson {
  const data = loc.data ?? (loc.text === undefined ? undefined : new TextEncoder().encode(loc.text));
  return {
    info: {
      filename: loc.file,
      ...(data === undefined ? {} : { data: Buffer.from(data).toString('base64') }),
      language: 'Dockerfile',
    },
    ranges: [{ start: { line: loc.line }, end: { line: loc.endLine ?? loc.line } }],
  };
}

/**
 * The one place where errors become gRPC statuses. With a source location, `source` is the
 * errdefs.Source detail to send in grpc-status-details-bin, and the text stays the bare message
 * (clients print the location from the detail, as buildctl does).
 */
export function toGrpcStatus(err: unknown): { code: GrpcStatus; details: string; source?: SourceDetailJson } {
  if (err instanceof KilnError) {
    const loc = sourceLocationOf(err);
    if (loc?.data !== undefined) {
      return { code: grpcByCode[err.code], details: err.message, source: sourceDetailJson(loc) };
    }
    return { code: grpcByCode[err.code], details: formatError(err) };
  }
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
