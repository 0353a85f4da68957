import type { Metadata } from '@grpc/grpc-js';
import {
  CanceledError,
  ErrorCodes,
  InvalidArgumentError,
  KilnError,
  NotFoundError,
  throwIfAborted,
} from '../../proto/errors.js';
import { type HealthOptions, Session, type SessionHeaders } from './session.js';
import { widenCallFlowControl } from './flow-control.js';
import { type BytesMessageCall, TunnelDuplex } from './tunnel-duplex.js';

/** Request metadata keys of Control.Session (BuildKit session/session.go). */
export const SessionHeaderKeys = {
  id: 'x-docker-expose-session-uuid',
  name: 'x-docker-expose-session-name',
  sharedKey: 'x-docker-expose-session-sharedkey',
  method: 'x-docker-expose-session-grpc-method',
} as const;

export type SessionMetadata = Metadata | Readonly<Record<string, string | readonly string[] | undefined>>;

function values(md: SessionMetadata, key: string): string[] {
  if (typeof (md as Metadata).get === 'function' && typeof (md as Metadata).getMap === 'function') {
    return (md as Metadata)
      .get(key)
      .map((v) => (typeof v === 'string' ? v : v.toString()))
      .flatMap((v) => v.split(', '))
      .map((v) => v.trim())
      .filter((v) => v !== '');
  }
  const v = (md as Readonly<Record<string, string | readonly string[] | undefined>>)[key];
  if (v === undefined) return [];
  return (typeof v === 'string' ? [v] : [...v]).filter((x) => x !== '');
}

export function parseSessionHeaders(md: SessionMetadata): SessionHeaders {
  const id = values(md, SessionHeaderKeys.id)[0];
  if (!id) throw new InvalidArgumentError(`session request without ${SessionHeaderKeys.id} metadata`);
  return {
    id,
    name: values(md, SessionHeaderKeys.name)[0] ?? '',
    sharedKey: values(md, SessionHeaderKeys.sharedKey)[0] ?? '',
    methods: new Set(values(md, SessionHeaderKeys.method).map((m) => m.toLowerCase())),
  };
}

export interface SessionManagerOptions {
  readonly health?: HealthOptions;
}

/**
 * Live client sessions by id. The Control.Session handler hands each call to `handle`; solver code
 * finds sessions with `get`, which waits (bounded) for one that has not registered yet.
 */
export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private readonly waiters = new Map<string, Set<(s: Session) => void>>();
  private readonly options: SessionManagerOptions;

  constructor(options: SessionManagerOptions = {}) {
    this.options = options;
  }

  /**
   * Serves one Control.Session call: resolves when the session is over. `signal` ends it from the
   * daemon side (shutdown, call cancelled).
   */
  async handle(call: BytesMessageCall, metadata: SessionMetadata, signal: AbortSignal): Promise<void> {
    const headers = parseSessionHeaders(metadata);
    if (this.sessions.has(headers.id)) {
      throw new KilnError(ErrorCodes.AlreadyExists, `session ${headers.id} already exists`);
    }
    widenCallFlowControl(call);
    const conn = new TunnelDuplex(call);
    const session = new Session(headers, conn, this.options.health ?? {});
    this.sessions.set(session.id, session);
    const onAbort = () => {
      const reason: unknown = signal.reason;
      session.close(
        reason instanceof Error ? reason : new CanceledError(`session ${session.id}: ${String(reason)}`),
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    call.once('cancelled', () =>
      session.close(new CanceledError(`session ${session.id} ended: call cancelled`)),
    );
    for (const w of this.waiters.get(session.id) ?? []) w(session);
    this.waiters.delete(session.id);
    try {
      await new Promise<void>((resolve) => {
        if (session.signal.aborted) resolve();
        else session.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
      conn.destroy();
    }
  }

  /** A live session by id (BuildKit accepts `prefix:id`), waiting up to timeoutMs (default 5 s) for it. */
  async get(id: string, opts: { signal: AbortSignal; timeoutMs?: number }): Promise<Session> {
    throwIfAborted(opts.signal);
    const key = id.includes(':') ? id.slice(id.lastIndexOf(':') + 1) : id;
    const live = this.sessions.get(key);
    if (live && !live.signal.aborted) return live;
    const timeoutMs = opts.timeoutMs ?? 5000;
    return new Promise<Session>((resolve, reject) => {
      let set = this.waiters.get(key);
      if (!set) {
        set = new Set();
        this.waiters.set(key, set);
      }
      const cleanup = () => {
        clearTimeout(timer);
        opts.signal.removeEventListener('abort', onAbort);
        set.delete(onSession);
        if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
      };
      const onSession = (s: Session) => {
        cleanup();
        resolve(s);
      };
      const onAbort = () => {
        cleanup();
        const reason: unknown = opts.signal.reason;
        reject(
          reason instanceof Error
            ? reason
            : new CanceledError(`waiting for session ${key}: ${String(reason)}`),
        );
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new NotFoundError(
            `no active session for ${key}: the client did not connect within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      set.add(onSession);
      opts.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Ids of live sessions. */
  list(): string[] {
    return [...this.sessions.keys()];
  }

  /** Ends every session (daemon shutdown). */
  closeAll(reason: Error): void {
    for (const s of this.sessions.values()) s.close(reason);
  }
}
