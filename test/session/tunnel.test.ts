import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileSyncProvider } from '../../client/session/filesync-provider.js';
import { startSession } from '../../client/session/start-session.js';
import { fetchLocalDir } from '../../daemon/session/filesync.js';
import { type Harness, startHarness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

describe('session tunnel', () => {
  it('registers the session with headers and serves health + file sync', async () => {
    const src = path.join(h.tmp, 'src');
    await mkdir(path.join(src, 'sub'), { recursive: true });
    await writeFile(path.join(src, 'a.txt'), 'hello');
    await writeFile(path.join(src, 'sub', 'b.txt'), 'world');
    const ac = new AbortController();
    const cs = await startSession({
      conn: h.open,
      name: 'proj',
      sharedKey: 'k1',
      attachables: [fileSyncProvider({ context: src }, ac.signal)],
      signal: ac.signal,
    });
    expect(cs.id).toMatch(/^[0-9a-z]{25}$/);
    const s = await h.manager.get(cs.id, { signal: ac.signal, timeoutMs: 5000 });
    expect(s.name).toBe('proj');
    expect(s.sharedKey).toBe('k1');
    expect(s.supports('/moby.filesync.v1.FileSync/DiffCopy')).toBe(true);
    expect(s.methods.has('/grpc.health.v1.health/check')).toBe(true);
    const resp = await s.unary('/grpc.health.v1.Health/Check', new Uint8Array(0), {}, ac.signal);
    expect([...resp]).toEqual([8, 1]);

    const dest = path.join(h.tmp, 'dest');
    await mkdir(dest);
    const r = await fetchLocalDir(s, { name: 'context', dest }, ac.signal);
    expect(r.bytes).toBe(10);
    expect(await readFile(path.join(dest, 'sub', 'b.txt'), 'utf8')).toBe('world');

    await cs.close();
    await expect.poll(() => s.signal.aborted).toBe(true);
    expect(String((s.signal.reason as Error).message)).toMatch(/session .* ended/);
  });
});
