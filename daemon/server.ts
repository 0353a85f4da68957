import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createFrontends } from '../frontends/index.js';
import { loadGrpcServices } from '../proto/index.js';
import { ContentHashCache } from '../worker/fs/content-hash.js';
import { createContentStore } from '../worker/content/store.js';
import type { ContentStore } from '../worker/content/types.js';
import { createRuncExecutor } from '../worker/executor/runc.js';
import { createNativeSnapshotter } from '../worker/snapshot/native.js';
import { openCacheManager } from './cache/manager.js';
import type { UsageRecord } from './cache/types.js';
import type { DaemonConfig } from './config/config.js';
import { type CacheAdmin, Controller, type UsageInfo } from './control/controller.js';
import { createExporters } from './exporter/index.js';
import { listen } from './listen.js';
import { SessionManager } from './session/manager.js';
import { createImageSource } from './source/image/image-source.js';
import { RegistryClient } from './source/image/registry-client.js';
import { createExecOp, cleanupExecScratch } from './solver/ops/exec-op.js';
import { CacheMountManager } from './solver/ops/exec-cache-mounts.js';
import { createOpResolver } from './solver/ops/op-resolver.js';
import { Solver } from './solver/solver.js';
import { createLocalSource } from './source/local.js';
import { createGitSource } from './source/git/git-source.js';
import { createHttpSource } from './source/http/http-source.js';

export const kilnVersion = '0.1.0';

export interface RunningDaemon {
  /** Stops accepting calls, cancels builds, closes sessions and the cache. */
  close(): Promise<void>;
}

/** The gRPC message size limit buildctl uses both ways. */
const maxMessageBytes = 16 << 20;

/**
 * The composition root: every registry (exporters, frontends, sources, ops) is filled here and
 * passed down; nothing below keeps module-level state.
 */
export async function startDaemon(
  config: DaemonConfig,
  log: (msg: string) => void,
  debug: (msg: string) => void,
): Promise<RunningDaemon> {
  const shutdown = new AbortController();
  await mkdir(config.root, { recursive: true, mode: 0o711 });
  const snapshotter = createNativeSnapshotter(path.join(config.root, 'snapshots'));
  const cache = await openCacheManager({ root: config.root, snapshotter, signal: shutdown.signal }).catch(
    (err: unknown) => {
      const msg = (err as Error).message;
      if (/lock/i.test(msg) || (err as { code?: string }).code === 'LEVEL_LOCKED') {
        throw new Error(`state directory ${config.root} is in use by another kilnd`, { cause: err });
      }
      throw err;
    },
  );
  const sessions = new SessionManager();
  const hashCache = new ContentHashCache();
  const localSource = createLocalSource({
    sessions,
    refs: cache,
    hashCache,
    // The last upload of each shared key, so the next sync only moves what changed.
    index: {
      async get(key) {
        const ref = await cache.getSharedKey(key, shutdown.signal);
        if (!ref) return undefined;
        await ref.release();
        return ref.id;
      },
      async set(key, refId) {
        const ref = await cache.get(refId);
        if (!ref) return;
        try {
          await cache.setSharedKey(key, ref, shutdown.signal);
        } finally {
          await ref.release();
        }
      },
    },
  });
  // Registry images: blobs in a content store under --root, layers unpacked into snapshots.
  const store = await createContentStore(path.join(config.root, 'content'));
  const registry = new RegistryClient({ hosts: config.registries, log: debug });
  const image = createImageSource({ refs: cache, cache, store, registry, sessions });

  // RUN: runc containers whose state and scratch space live under --root; a kill -9 leaves
  // containers and mounts behind, which the next start removes before serving.
  const executor = createRuncExecutor({ stateDir: path.join(config.root, 'runc') });
  await executor.cleanupStale(shutdown.signal);
  const execWork = path.join(config.root, 'exec');
  await cleanupExecScratch(execWork);
  const exec = createExecOp({
    refs: cache,
    executor,
    sessions,
    hashCache,
    workRoot: execWork,
    cacheMounts: new CacheMountManager(path.join(config.root, 'cache-mounts')),
  });
  const resolveOp = createOpResolver({
    refs: cache,
    sources: new Map([
      ['local', localSource],
      ['docker-image', image.resolver],
      ...createHttpSource({ refs: cache }).schemes(),
      ['git', createGitSource({ refs: cache, workDir: path.join(config.root, 'git') })],
    ]),
    hashCache,
    exec,
  });
  const solver = new Solver({
    resolveOp,
    cache,
    ...(config.maxParallelism === undefined ? {} : { maxParallelism: config.maxParallelism }),
  });
  const services = loadGrpcServices();
  const controller = new Controller({
    sessions,
    solver,
    cache: cacheAdmin(cache, store),
    frontends: createFrontends(),
    exporters: createExporters({ refs: cache, store, registry, sessions, registryHosts: config.registries }),
    allowedEntitlements: config.insecureEntitlements,
    worker: {
      id: `kiln-${os.hostname()}`,
      labels: {
        'org.mobyproject.buildkit.worker.executor': 'oci',
        'org.mobyproject.buildkit.worker.hostname': os.hostname(),
        'org.mobyproject.buildkit.worker.network': 'host',
        'org.mobyproject.buildkit.worker.snapshotter': snapshotter.name,
        'org.mobyproject.buildkit.worker.oci.process-mode': 'sandbox',
      },
      platforms: [{ Architecture: 'amd64', OS: 'linux' }],
    },
    resolveImageConfig: (ref, opts, signal, sessionIds) =>
      image.resolveImageConfig(ref, opts, signal, sessionIds),
    version: kilnVersion,
    log: debug,
    signal: shutdown.signal,
  });
  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
  });
  server.addService(services.Control.service, controller.controlHandlers());
  server.addService(services.LLBBridge.service, controller.llbBridgeHandlers());
  let removeSockets: () => Promise<void>;
  try {
    removeSockets = await listen(server, config.addresses, config.tls);
  } catch (err) {
    server.forceShutdown();
    await cache.close();
    throw err;
  }
  log(`kilnd ${kilnVersion} running: root ${config.root}, listening on ${config.addresses.join(', ')}`);

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        shutdown.abort(new Error('kilnd is shutting down'));
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 5000);
          server.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        });
        sessions.closeAll(new Error('kilnd is shutting down'));
        await removeSockets();
        await cache.close();
      })();
      return closing;
    },
  };
}

function toUsageInfo(r: UsageRecord): UsageInfo {
  return {
    id: r.ID,
    mutable: r.Mutable,
    inUse: r.InUse,
    size: r.Size,
    createdAt: r.CreatedAt.getTime(),
    lastUsedAt: r.LastUsedAt?.getTime(),
    usageCount: r.UsageCount,
    description: r.Description,
    recordType: r.RecordType,
    shared: r.Shared,
    parents: r.Parents,
  };
}

function cacheAdmin(cache: Awaited<ReturnType<typeof openCacheManager>>, store: ContentStore): CacheAdmin {
  return {
    async diskUsage(filter, signal) {
      return (await cache.diskUsage({ filter }, signal)).map(toUsageInfo);
    },
    async prune(opts, onPruned, signal) {
      const writes: Promise<void>[] = [];
      await cache.prune(
        {
          all: opts.all,
          keepDurationMs: opts.keepDurationMs,
          keepBytes: opts.keepBytes,
          filter: opts.filter,
        },
        (r) => writes.push(onPruned(toUsageInfo(r))),
        signal,
      );
      await Promise.all(writes);
      // Layer blobs no remaining record points at (and no running build leases) go too.
      await store.deleteUnreferenced(cache.referencedBlobs(), signal);
    },
  };
}
