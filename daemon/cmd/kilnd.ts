#!/usr/bin/env node
import { access } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatError, InvalidArgumentError } from '../../proto/errors.js';
import { type DaemonConfig, defaultConfig, loadConfigFile } from '../config/config.js';
import { kilnVersion, startDaemon } from '../server.js';

const defaultConfigFile = '/etc/kiln/kilnd.toml';

const usage = `Usage: kilnd [options]

Kiln build daemon: serves BuildKit's Control and LLBBridge APIs (point buildctl or kilnctl at it).

Options:
  --addr ADDR                   listen address, repeatable: unix:///path or tcp://host:port
                                (default unix:///run/kiln/kilnd.sock)
  --root DIR                    state directory (default /var/lib/kiln)
  --config FILE                 kilnd.toml; accepts buildkitd.toml keys (default ${defaultConfigFile} if present)
  --max-parallelism N           ops executed at once (default unlimited)
  --snapshotter auto|native|overlayfs
  --tlscert FILE, --tlskey FILE, --tlscacert FILE
                                TLS for tcp:// addresses (with a CA, clients need certificates)
  --allow-insecure-entitlement NAME
  --debug                       log every failed call
  --version, --help`;

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      addr: { type: 'string', multiple: true },
      root: { type: 'string' },
      config: { type: 'string' },
      debug: { type: 'boolean' },
      'max-parallelism': { type: 'string' },
      'oci-max-parallelism': { type: 'string' },
      snapshotter: { type: 'string' },
      'oci-worker-snapshotter': { type: 'string' },
      tlscert: { type: 'string' },
      tlskey: { type: 'string' },
      tlscacert: { type: 'string' },
      'allow-insecure-entitlement': { type: 'string', multiple: true },
      version: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`kilnd ${kilnVersion}\n`);
    return 0;
  }
  const boot = new AbortController();
  const warn = (msg: string) => process.stderr.write(`kilnd: warning: ${msg}\n`);
  const configFile = values.config ?? ((await exists(defaultConfigFile)) ? defaultConfigFile : undefined);
  const fromFile = configFile ? await loadConfigFile(configFile, warn, boot.signal) : {};

  const parallelism = values['max-parallelism'] ?? values['oci-max-parallelism'];
  let maxParallelism = fromFile.maxParallelism ?? defaultConfig.maxParallelism;
  if (parallelism !== undefined) {
    maxParallelism = Number(parallelism);
    if (!Number.isInteger(maxParallelism) || maxParallelism < 1) {
      throw new InvalidArgumentError(`--max-parallelism must be a positive integer, got "${parallelism}"`);
    }
  }
  const snapshotter = values.snapshotter ?? values['oci-worker-snapshotter'];
  if (
    snapshotter !== undefined &&
    snapshotter !== 'auto' &&
    snapshotter !== 'native' &&
    snapshotter !== 'overlayfs'
  ) {
    throw new InvalidArgumentError(`--snapshotter must be auto, native or overlayfs, got "${snapshotter}"`);
  }
  const tls = { ...(fromFile.tls ?? {}) };
  if (values.tlscert) tls.cert = values.tlscert;
  if (values.tlskey) tls.key = values.tlskey;
  if (values.tlscacert) tls.ca = values.tlscacert;

  const config: DaemonConfig = {
    ...defaultConfig,
    ...fromFile,
    root: values.root ?? fromFile.root ?? defaultConfig.root,
    addresses: values.addr ?? fromFile.addresses ?? defaultConfig.addresses,
    debug: values.debug ?? fromFile.debug ?? false,
    maxParallelism,
    snapshotter: snapshotter ?? fromFile.snapshotter ?? defaultConfig.snapshotter,
    insecureEntitlements: values['allow-insecure-entitlement'] ?? fromFile.insecureEntitlements ?? [],
    tls,
  };
  const log = (msg: string) => process.stderr.write(`kilnd: ${msg}\n`);
  const debug = config.debug ? log : () => {};
  const daemon = await startDaemon(config, log, debug);

  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      log(`${sig} received, shutting down`);
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await daemon.close();
  log('stopped');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`kilnd: ${formatError(err)}\n`);
    process.exit(1);
  },
);
