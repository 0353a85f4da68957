/**
 * What a frontend sees of the daemon: BuildKit's LLBBridge, in-process. The built-in
 * `dockerfile.v0` frontend gets one of these; the control layer implements it over the solver.
 */

/** A marshaled pb.Definition (the bytes of each op kept exactly as built). */
export interface DefinitionBytes {
  readonly def: readonly Uint8Array[];
  /** op digest → pb.OpMetadata, as a plain object shaped like proto/ generated OpMetadata. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** pb.Definition.Source: where each op comes from in the frontend's source (the Dockerfile). */
  readonly source?: DefinitionSource;
}

/** pb.Source: op digest → ranges of `infos[sourceIndex]` (1-based lines). */
export interface DefinitionSource {
  readonly locations: Readonly<
    Record<
      string,
      {
        readonly locations: readonly {
          readonly sourceIndex?: number;
          readonly ranges: readonly {
            readonly start: { readonly line: number; readonly character?: number };
            readonly end: { readonly line: number; readonly character?: number };
          }[];
        }[];
      }
    >
  >;
  readonly infos: readonly {
    readonly filename: string;
    readonly data: Uint8Array;
    readonly language?: string;
  }[];
}

/** A handle on a solved (or lazily solvable) result, as LLBBridge `Ref.id`. */
export interface ResultRef {
  readonly id: string;
}

export interface FileStat {
  readonly path: string;
  /** Go os.FileMode bits, as fsutil sends them. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  /** unix ns */
  readonly modTime: bigint | number;
  readonly linkname: string;
}

export interface FrontendBridge {
  /** Solves a definition (lazily: nothing runs until the ref is read or exported). */
  solve(req: { definition: DefinitionBytes }, signal: AbortSignal): Promise<ResultRef>;
  readFile(
    ref: ResultRef,
    path: string,
    signal: AbortSignal,
    range?: { offset: number; length: number },
  ): Promise<Uint8Array>;
  statFile(ref: ResultRef, path: string, signal: AbortSignal): Promise<FileStat>;
  readDir(ref: ResultRef, dir: string, signal: AbortSignal, includePattern?: string): Promise<FileStat[]>;
  /** Session id of the client that started the build (for local sources). */
  readonly sessionId: string;
  /**
   * Resolves an image reference in a registry (LLBBridge.ResolveImageConfig): the manifest digest
   * for the platform and the image config JSON.
   */
  resolveImageConfig(
    ref: string,
    opts: {
      platform?: { os: string; architecture: string; variant?: string };
      resolveMode?: 'default' | 'pull' | 'local';
    },
    signal: AbortSignal,
  ): Promise<{ digest: string; config: Uint8Array }>;
  /**
   * Platforms the worker can run (ListWorkers' `platforms`). Optional: without it a frontend assumes
   * the daemon's host platform.
   */
  readonly workerPlatforms?: readonly { os: string; architecture: string; variant?: string }[];
  /** Warnings (lint) shown in progress. */
  warn(warning: { short: string; detail?: string[]; url?: string; level?: number }): void;
}

export interface FrontendResult {
  readonly ref?: ResultRef;
  /** e.g. `containerimage.config` → JSON bytes */
  readonly metadata: Readonly<Record<string, Uint8Array>>;
}

export interface Frontend {
  solve(
    bridge: FrontendBridge,
    opts: Readonly<Record<string, string>>,
    signal: AbortSignal,
  ): Promise<FrontendResult>;
}
