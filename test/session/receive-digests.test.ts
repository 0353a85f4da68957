import { chmod, link, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { fileSyncProvider } from '../../client/session/filesync-provider.js';
import { type ClientSession, startSession } from '../../client/session/start-session.js';
import { fetchLocalDir } from '../../daemon/session/filesync.js';
import type { Session } from '../../daemon/session/session.js';
import { checksumPath } from '../../worker/fs/content-hash.js';
import type { ReceiveDigests } from '../../worker/fs/fsutil-receive.js';
import { describeTree } from './tree.js';
import { type Harness, startHarness } from './harness.js';

// The digests a receive computes as files arrive (and for directories at the end) must be exactly
// what checksumPath computes by reading the tree back: they stand in for it in COPY cache keys.
// Over 256 files, so small files go through the writer thread; one file is large enough not to.

const asRoot = process.getuid?.() === 0;
let h: Harness;
let cs: ClientSession;
let session: Session;
let src: string;
const ac = new AbortController();

beforeEach(async () => {
  h = await startHarness();
  src = path.join(h.tmp, 'src');
  for (let d = 0; d < 6; d++) await mkdir(path.join(src, `d${d}`, 'sub'), { recursive: true });
  await mkdir(path.join(src, 'empty'));
  for (let i = 0; i < 400; i++)
    await writeFile(path.join(src, `d${i % 6}`, i % 2 ? 'sub' : '', `f${i}`), `file ${i}\n`.repeat(i % 9));
  await writeFile(path.join(src, 'big.bin'), Buffer.alloc(600_000, 3));
  await writeFile(path.join(src, 'run.sh'), '#!/bin/sh\n');
  await chmod(path.join(src, 'run.sh'), 0o4755);
  await chmod(path.join(src, 'd1'), 0o2750);
  await symlink('d0/f0', path.join(src, 'link'));
  await link(path.join(src, 'd0', 'f0'), path.join(src, 'd5', 'hard'));
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

async function receive(dest: string, previous: ReadonlyMap<string, string>): Promise<Map<string, string>> {
  const got = new Map<string, string>();
  const digests: ReceiveDigests = { set: (rel, d) => got.set(rel, d), previous: (rel) => previous.get(rel) };
  await fetchLocalDir(session, { name: 'context', dest, digests }, ac.signal);
  return got;
}

async function expectDigestsOfTree(dest: string, got: ReadonlyMap<string, string>): Promise<void> {
  const entries = ['', ...Object.keys(await describeTree(dest))];
  // Every entry but the symlink (the hasher digests it only as part of its directory).
  expect(new Set(got.keys())).toEqual(new Set(entries.filter((e) => e !== 'link')));
  for (const rel of entries) {
    if (rel === 'link') continue;
    const want = await checksumPath(dest, `/${rel}`, {}, ac.signal);
    expect(got.get(rel), rel).toBe(want);
  }
}

it.skipIf(!asRoot)('gives the digests checksumPath computes, for files and directories', async () => {
  const dest = path.join(h.tmp, 'dest');
  await mkdir(dest);
  const first = await receive(dest, new Map());
  expect((await readdir(path.join(dest, 'd1'))).length).toBeGreaterThan(0);
  await expectDigestsOfTree(dest, first);

  // Incremental: kept files take their previous digests, the changed one a new one.
  await writeFile(path.join(src, 'd3', 'f3'), 'changed\n');
  const second = await receive(dest, first);
  await expectDigestsOfTree(dest, second);
  expect(second.get('d3/f3')).not.toBe(first.get('d3/f3'));
  expect(second.get('d0/f0')).toBe(first.get('d0/f0'));
  expect(second.get('')).not.toBe(first.get(''));
});

it.skipIf(!asRoot)('leaves directories with unknown content to the hasher', async () => {
  const dest = path.join(h.tmp, 'dest');
  await mkdir(dest);
  await receive(dest, new Map());
  await writeFile(path.join(src, 'd2', 'f2'), 'changed\n');
  // No previous digests: kept files have none, so neither have their directories.
  const second = await receive(dest, new Map());
  expect(second.get('d2/f2')).toBe(await checksumPath(dest, '/d2/f2', {}, ac.signal));
  expect(second.has('d0/f0')).toBe(false);
  expect(second.has('d0')).toBe(false);
  expect(second.has('')).toBe(false);
});
