import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { decodeMessage, encodeMessage } from '../../proto/codec.js';
import type { SessionAttachable } from './attachable.js';

/** moby.filesync.v1.Auth from docker's config.json (BuildKit session/auth/authprovider). */

export interface Credentials {
  readonly username: string;
  readonly secret: string;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker');
  return path.join(dir, 'config.json');
}

async function loadConfig(file: string): Promise<DockerConfig> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as DockerConfig;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}

function runHelper(helper: string, host: string, signal: AbortSignal): Promise<Credentials> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      `docker-credential-${helper}`,
      ['get'],
      { signal, timeout: 30_000 },
      (err, stdout) => {
        if (err) {
          // "credentials not found" (and a missing helper) mean anonymous, as docker treats them.
          resolve({ username: '', secret: '' });
          return;
        }
        try {
          const r = JSON.parse(stdout) as { Username?: string; Secret?: string };
          resolve(normalize(r.Username ?? '', r.Secret ?? ''));
        } catch (e) {
          reject(e);
        }
      },
    );
    child.stdin?.end(host);
  });
}

function normalize(username: string, secret: string): Credentials {
  // Identity tokens come back under the pseudo user "<token>".
  return username === '<token>' ? { username: '', secret } : { username, secret };
}

/** Looks up credentials for a registry host; empty strings mean anonymous. */
export async function lookupCredentials(
  host: string,
  configFile: string,
  signal: AbortSignal,
): Promise<Credentials> {
  const cfg = await loadConfig(configFile);
  const key = host === 'registry-1.docker.io' || host === 'docker.io' ? DOCKER_HUB_KEY : host;
  const helper = cfg.credHelpers?.[key] ?? cfg.credHelpers?.[host];
  if (helper) return runHelper(helper, key, signal);
  const auths = cfg.auths ?? {};
  const entry = auths[key] ?? auths[`https://${key}`] ?? auths[`http://${key}`];
  if (entry) {
    if (entry.identitytoken) return { username: '', secret: entry.identitytoken };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i >= 0) return normalize(decoded.slice(0, i), decoded.slice(i + 1));
    }
    if (entry.username !== undefined) return normalize(entry.username, entry.password ?? '');
  }
  if (cfg.credsStore) return runHelper(cfg.credsStore, key, signal);
  return { username: '', secret: '' };
}

export function authProvider(opts: { configFile?: string }, signal: AbortSignal): SessionAttachable {
  const configFile = opts.configFile ?? dockerConfigPath();
  return {
    methods: [
      {
        kind: 'unary',
        path: '/moby.filesync.v1.Auth/Credentials',
        handler: (call, callback) => {
          const req = decodeMessage<{ Host: string }>('moby.filesync.v1.CredentialsRequest', call.request);
          lookupCredentials(req.Host, configFile, signal).then(
            (c) =>
              callback(
                null,
                Buffer.from(
                  encodeMessage('moby.filesync.v1.CredentialsResponse', {
                    Username: c.username,
                    Secret: c.secret,
                  }),
                ),
              ),
            (err: unknown) =>
              callback({
                code: GrpcStatus.UNKNOWN,
                details: `credentials for ${req.Host}: ${(err as Error).message}`,
              }),
          );
        },
      },
      {
        // No token authority: the daemon falls back to Credentials.
        kind: 'unary',
        path: '/moby.filesync.v1.Auth/GetTokenAuthority',
        handler: (_call, callback) =>
          callback({ code: GrpcStatus.UNIMPLEMENTED, details: 'no token authority' }),
      },
    ],
  };
}
