import type { Duplex } from 'node:stream';
import { CanceledError, UnimplementedError } from '../../proto/errors.js';
import { type CallMetadata, type SessionStreamCall, TunnelGrpcClient } from './tunnel-client.js';

/** One client session as the daemon sees it: who it is, what it serves, and how to call it. */
export interface SessionHeaders {
  readonly id: string;
  readonly name: string;
  readonly sharedKey: string;
  /** Methods the client serves, lower-cased. */
  readonly methods: ReadonlySet<string>;
}

export interface HealthOptions {
  /** Default 5 s (BuildKit). */
  readonly intervalMs?: number;
  /** Minimum per-check timeout; default 30 s. */
  readonly minTimeoutMs?: number;
}

const HEALTH_CHECK = '/grpc.health.v1.Health/Check';

export class Session implements SessionHeaders {
  readonly id: string;
  readonly name: string;
  readonly sharedKey: string;
  readonly methods: ReadonlySet<string>;
  private readonly abort = new AbortController();
  private readonly client: TunnelGrpcClient;
  /** Resolves when the tunnel is gone. */
  readonly closed: Promise<void>;

  constructor(headers: SessionHeaders, conn: Duplex, health: HealthOptions = {}) {
    this.id = headers.id;
    this.name = headers.name;
    this.sharedKey = headers.sharedKey;
    this.methods = headers.methods;
    this.client = new TunnelGrpcClient(conn);
    this.closed = this.client.closed.then((err) => {
      this.close(
        new CanceledError(
          `session ${this.id} ended: ${err ? err.message : 'the client closed the connection'}`,
        ),
      );
    });
    conn.once('close', () => this.close(new CanceledError(`session ${this.id} ended: the client went away`)));
    this.runHealth(health);
  }

  /** Aborted, with a reason, when the session ends. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  supports(method: string): boolean {
    return this.methods.has(method.toLowerCase());
  }

  close(reason: Error = new CanceledError(`session ${this.id} closed`)): void {
    if (!this.abort.signal.aborted) this.abort.abort(reason);
    this.client.close();
  }

  private callSignal(signal: AbortSignal): AbortSignal {
    return AbortSignal.any([signal, this.abort.signal]);
  }

  private requireMethod(method: string): void {
    if (!this.supports(method)) {
      throw new UnimplementedError(`session ${this.id} does not serve ${method}`);
    }
  }

  async unary(
    method: string,
    request: Uint8Array,
    metadata: CallMetadata,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    this.requireMethod(method);
    return this.client.unary(method, request, metadata, this.callSignal(signal));
  }

  stream(method: string, metadata: CallMetadata, signal: AbortSignal): SessionStreamCall {
    this.requireMethod(method);
    return this.client.stream(method, metadata, this.callSignal(signal));
  }

  private runHealth(opts: HealthOptions): void {
    const interval = opts.intervalMs ?? 5000;
    const minTimeout = opts.minTimeoutMs ?? 30_000;
    let lastDuration = 0;
    let failedBefore = false;
    let successes = 0;
    const tick = async () => {
      if (this.abort.signal.aborted) return;
      const timeout = Math.max(minTimeout, Math.round(lastDuration * 1.5));
      const started = Date.now();
      try {
        await this.client.unary(
          HEALTH_CHECK,
          new Uint8Array(0),
          {},
          AbortSignal.any([this.abort.signal, AbortSignal.timeout(timeout)]),
        );
        lastDuration = Date.now() - started;
        successes++;
        if (successes >= 5) failedBefore = false;
      } catch (err) {
        if (this.abort.signal.aborted) return;
        lastDuration = Date.now() - started;
        successes = 0;
        if (failedBefore) {
          this.close(
            new CanceledError(
              `session ${this.id} ended: health check failed twice: ${(err as Error).message}`,
              {
                cause: err,
              },
            ),
          );
          return;
        }
        failedBefore = true;
      }
      schedule();
    };
    const schedule = () => {
      if (this.abort.signal.aborted) return;
      const t = setTimeout(() => void tick(), interval);
      t.unref();
      this.abort.signal.addEventListener('abort', () => clearTimeout(t), { once: true });
    };
    schedule();
  }
}
