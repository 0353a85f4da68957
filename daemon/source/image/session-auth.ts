import { decodeMessage, encodeMessage } from '../../../proto/codec.js';
import { ErrorCodes, KilnError, throwIfAborted } from '../../../proto/errors.js';
import type { SessionManager } from '../../session/manager.js';
import type { RegistryAuth } from './registry-client.js';

/**
 * Registry credentials from the build's client sessions (BuildKit's session/auth): the daemon asks
 * `moby.filesync.v1.Auth/Credentials` with the registry's API host (`registry-1.docker.io` for Docker
 * Hub; the client maps it to its `https://index.docker.io/v1/` entry). Sessions are tried in order;
 * a session that does not serve Auth, answers Unimplemented/NotFound, or sends empty credentials
 * means anonymous.
 */
export const AuthCredentialsMethod = '/moby.filesync.v1.Auth/Credentials';

interface CredentialsResponse {
  Username: string;
  Secret: string;
}

export function sessionAuth(
  sessions: SessionManager,
  sessionIds: readonly string[],
  opts: { timeoutMs?: number } = {},
): RegistryAuth {
  return async (host, signal) => {
    for (const id of sessionIds) {
      throwIfAborted(signal);
      let session;
      try {
        session = await sessions.get(id, { signal, timeoutMs: opts.timeoutMs ?? 5000 });
      } catch (err) {
        throwIfAborted(signal);
        if (err instanceof KilnError && err.code === ErrorCodes.NotFound) continue;
        throw err;
      }
      if (!session.supports(AuthCredentialsMethod)) continue;
      let res: CredentialsResponse;
      try {
        const bytes = await session.unary(
          AuthCredentialsMethod,
          encodeMessage('moby.filesync.v1.CredentialsRequest', { Host: host }),
          {},
          signal,
        );
        res = decodeMessage<CredentialsResponse>('moby.filesync.v1.CredentialsResponse', bytes);
      } catch (err) {
        throwIfAborted(signal);
        if (
          err instanceof KilnError &&
          (err.code === ErrorCodes.Unimplemented || err.code === ErrorCodes.NotFound)
        )
          continue;
        throw err;
      }
      if (res.Username === '' && res.Secret === '') continue;
      return { username: res.Username, secret: res.Secret };
    }
    return undefined;
  };
}
