import type { KilnGrpcServices } from '../../proto/index.js';
import type { DaemonConnection } from '../connection.js';
import type { ProgressOutput } from '../progress/display.js';

/** Where a command reads and writes; process streams in the CLI, buffers in tests. */
export interface CommandIO {
  readonly stdout: ProgressOutput;
  readonly stderr: ProgressOutput;
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

export interface CommandContext {
  readonly io: CommandIO;
  readonly debug: boolean;
  readonly signal: AbortSignal;
  readonly services: () => KilnGrpcServices;
  /** Dials the daemon with the global flags; the caller closes the connection. */
  readonly connect: () => Promise<DaemonConnection>;
}
