/**
 * Runs one process in a container (runc here). The exec op prepares every mount as a host
 * directory or a tmpfs and hands them over; the executor owns only the container's lifetime.
 */
export type ExecMount =
  | { readonly kind: 'bind'; readonly source: string; readonly dest: string; readonly readonly: boolean }
  | { readonly kind: 'tmpfs'; readonly dest: string; readonly sizeBytes?: number }
  /** A unix socket on the host bound into the container (ssh-agent forwarding). */
  | { readonly kind: 'socket'; readonly source: string; readonly dest: string };

export interface ProcessSpec {
  readonly args: readonly string[];
  /** `K=V`; the executor adds a default PATH when absent. */
  readonly env: readonly string[];
  readonly cwd: string;
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids: readonly number[];
}

export interface ExecRequest {
  /** Host directory used as the container's root filesystem (writable; e.g. an overlay mount). */
  readonly rootfs: string;
  /** Mount the root filesystem read-only (a root mount with `readonly`). */
  readonly readonlyRootfs?: boolean;
  readonly mounts: readonly ExecMount[];
  readonly process: ProcessSpec;
  readonly network: 'host' | 'none';
  /**
   * `RUN --security=insecure`, only when the daemon and the client both allowed the
   * `security.insecure` entitlement: every capability, writable /sys, no masked paths.
   */
  readonly privileged?: boolean;
  readonly hostname: string;
  /** Extra `/etc/hosts` entries. */
  readonly extraHosts: readonly { host: string; ip: string }[];
  readonly stdout: (chunk: Uint8Array) => void;
  readonly stderr: (chunk: Uint8Array) => void;
  /** Kills the container; run() rejects with the signal's reason. */
  readonly signal: AbortSignal;
}

export interface Executor {
  /** Resolves with the exit code once the container is gone (deleted, no process left). */
  run(req: ExecRequest): Promise<{ exitCode: number }>;
}
