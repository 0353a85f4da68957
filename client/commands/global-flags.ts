import { InvalidArgumentError } from '../../proto/errors.js';
import type { ConnectOptions } from '../connection.js';
import type { FlagSpec, ParsedFlags } from './args.js';

export const globalFlags: readonly FlagSpec[] = [
  { name: 'debug', kind: 'bool', usage: 'enable debug output in logs' },
  {
    name: 'addr',
    kind: 'string',
    usage: 'kilnd address (default: $BUILDKIT_HOST or unix:///run/kiln/kilnd.sock)',
  },
  { name: 'tlsservername', kind: 'string', usage: 'kilnd server name for certificate validation' },
  { name: 'tlscacert', kind: 'string', usage: 'CA certificate for validation' },
  { name: 'tlscert', kind: 'string', usage: 'client certificate' },
  { name: 'tlskey', kind: 'string', usage: 'client key' },
  {
    name: 'tlsdir',
    kind: 'string',
    usage: 'directory containing CA certificate, client certificate, and client key',
  },
  { name: 'timeout', kind: 'string', usage: 'timeout for connecting to the daemon, in seconds (default: 5)' },
  { name: 'help', aliases: ['h'], kind: 'bool', usage: 'show help' },
];

/** Connection settings from the global flags; `env` supplies BUILDKIT_HOST. */
export function connectOptionsFrom(
  flags: ParsedFlags,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): ConnectOptions {
  const timeoutText = flags.strings.get('timeout');
  let timeoutSeconds: number | undefined;
  if (timeoutText !== undefined) {
    timeoutSeconds = Number(timeoutText);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
      throw new InvalidArgumentError(
        `invalid --timeout ${timeoutText}: expected a positive number of seconds`,
      );
    }
  }
  const tls = {
    ...optional('caCert', flags.strings.get('tlscacert')),
    ...optional('cert', flags.strings.get('tlscert')),
    ...optional('key', flags.strings.get('tlskey')),
    ...optional('serverName', flags.strings.get('tlsservername')),
    ...optional('dir', flags.strings.get('tlsdir')),
  };
  return {
    ...optional('addr', flags.strings.get('addr')),
    env,
    tls,
    ...optional('timeoutSeconds', timeoutSeconds),
    signal,
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
