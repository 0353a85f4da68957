import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { sessionAuth } from '../../daemon/source/image/session-auth.js';
import { authProvider } from '../../client/session/auth-provider.js';
import { startSession } from '../../client/session/start-session.js';
import { type Harness, startHarness } from '../session/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

it('asks the client session for credentials, anonymous when it has none or serves no Auth', async () => {
  const ac = new AbortController();
  const configFile = path.join(h.tmp, 'config.json');
  const auth = Buffer.from('alice:s3cret').toString('base64');
  await writeFile(configFile, JSON.stringify({ auths: { '127.0.0.1:5999': { auth } } }));
  const withAuth = await startSession({
    conn: h.open,
    name: 'a',
    attachables: [authProvider({ configFile }, ac.signal)],
    signal: ac.signal,
  });
  const without = await startSession({ conn: h.open, name: 'b', attachables: [], signal: ac.signal });
  try {
    const signal = AbortSignal.timeout(10_000);
    const creds = sessionAuth(h.manager, [withAuth.id], { timeoutMs: 500 });
    expect(await creds('127.0.0.1:5999', signal)).toEqual({ username: 'alice', secret: 's3cret' });
    expect(await creds('other.example:5000', signal)).toBeUndefined();
    // Sessions are tried in order: one without Auth, then one with it.
    expect(await sessionAuth(h.manager, [without.id, withAuth.id])('127.0.0.1:5999', signal)).toEqual({
      username: 'alice',
      secret: 's3cret',
    });
    expect(await sessionAuth(h.manager, [without.id])('127.0.0.1:5999', signal)).toBeUndefined();
    expect(
      await sessionAuth(h.manager, ['gone'], { timeoutMs: 100 })('127.0.0.1:5999', signal),
    ).toBeUndefined();
  } finally {
    ac.abort(new Error('test over'));
    await withAuth.close();
    await without.close();
  }
});
