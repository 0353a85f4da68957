import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { fileSyncProvider } from '../../client/session/filesync-provider.js';
import { type ClientSession, startSession } from '../../client/session/start-session.js';
import { fetchLocalDir } from '../../daemon/session/filesync.js';
import type { Session } from '../../daemon/session/session.js';
import { type Harness, startHarness } from './harness.js';

// Many small files through the real tunnel: exercises the coalesced tunnel writes, the raw HTTP/2
// message path of the client and the synchronous, time-sliced receiver.

let h: Harness;
let cs: ClientSession;
let session: Session;
let src: string;
const ac = new AbortController();
const N = 2000;

beforeEach(async () => {
  h = await startHarness();
  src = path.join(h.tmp, 'src');
  for (let d = 0; d < 20; d++) await mkdir(path.join(src, `d${d}`), { recursive: true });
  for (let i = 0; i < N; i++)
    await writeFile(path.join(src, `d${i % 20}`, `f${i}`), `content ${i}\n`.repeat(i % 7));
  cs = await startSession({
    conn: h.open,
    name: 'test',
    attachables: [fileSyncProvider({ context: src }, ac.signal)],
    signal: ac.signal,
  });
  session = await h.manager.get(cs.id, { signal: ac.signal });
});
afterEach(async () => {
  await cs.close();
  await h.close();
});

it('transfers thousands of small files intact and keeps the event loop responsive', async () => {
  const dest = path.join(h.tmp, 'dest');
  await mkdir(dest);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    const r = await fetchLocalDir(session, { name: 'context', dest }, ac.signal);
    expect(r.filesRequested).toBe(N);
  } finally {
    clearInterval(timer);
  }
  expect(ticks).toBeGreaterThan(0);
  let count = 0;
  for (const d of await readdir(dest)) count += (await readdir(path.join(dest, d))).length;
  expect(count).toBe(N);
  for (const i of [0, 1, 6, 1234, N - 1]) {
    const want = await readFile(path.join(src, `d${i % 20}`, `f${i}`), 'utf8');
    expect(await readFile(path.join(dest, `d${i % 20}`, `f${i}`), 'utf8')).toBe(want);
  }
  // A second sync over the same tree with one change: only that file moves, and it gets a new inode.
  const before = await stat(path.join(dest, 'd3', 'f3'));
  await writeFile(path.join(src, 'd3', 'f3'), 'changed\n');
  const r2 = await fetchLocalDir(session, { name: 'context', dest }, ac.signal);
  expect(r2.filesRequested).toBe(1);
  const after = await stat(path.join(dest, 'd3', 'f3'));
  expect(after.ino).not.toBe(before.ino);
  expect(await readFile(path.join(dest, 'd3', 'f3'), 'utf8')).toBe('changed\n');
});
