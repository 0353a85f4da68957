import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileSendTarget } from '../../client/session/filesend-target.js';
import { startSession } from '../../client/session/start-session.js';
import { sendDirToClient, sendTarToClient } from '../../daemon/session/filesync.js';
import { type Harness, startHarness } from './harness.js';
import { describeTree } from './tree.js';

let h: Harness;
const ac = new AbortController();
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

describe('FileSend (daemon → client)', () => {
  it('sends a directory as packets into the client dir (merge, nothing deleted)', async () => {
    const src = path.join(h.tmp, 'result');
    await mkdir(path.join(src, 'bin'), { recursive: true });
    await writeFile(path.join(src, 'bin', 'app'), Buffer.alloc(100_000, 1), { mode: 0o755 });
    await symlink('bin/app', path.join(src, 'app'));
    const out = path.join(h.tmp, 'out');
    await mkdir(out);
    await writeFile(path.join(out, 'keep.txt'), 'mine');
    const cs = await startSession({
      conn: h.open,
      name: 'x',
      attachables: [fileSendTarget({ kind: 'dir', dir: out }, ac.signal)],
      signal: ac.signal,
    });
    const s = await h.manager.get(cs.id, { signal: ac.signal });
    await sendDirToClient(s, src, ac.signal);
    const tree = await describeTree(out);
    expect(tree['keep.txt']).toBeDefined();
    delete tree['keep.txt'];
    expect(tree).toEqual(await describeTree(src));
    await cs.close();
  });

  it('streams tar bytes with exporter metadata into a file', async () => {
    const file = path.join(h.tmp, 'out.tar');
    let md: Readonly<Record<string, string>> = {};
    const cs = await startSession({
      conn: h.open,
      name: 'x',
      attachables: [fileSendTarget({ kind: 'file', path: file, onMetadata: (m) => (md = m) }, ac.signal)],
      signal: ac.signal,
    });
    const s = await h.manager.get(cs.id, { signal: ac.signal });
    const chunks = [Buffer.alloc(70_000, 'a'), Buffer.from('tail')];
    async function* gen() {
      yield* chunks;
    }
    await sendTarToClient(s, gen(), { 'containerimage.digest': 'sha256:abc' }, ac.signal);
    expect(await readFile(file)).toEqual(Buffer.concat(chunks));
    expect(md).toEqual({ 'containerimage.digest': 'sha256:abc' });
    await cs.close();
  });

  it('streams many MiB of tar chunks of every size byte for byte (frames written as they are)', async () => {
    const file = path.join(h.tmp, 'big.tar');
    const cs = await startSession({
      conn: h.open,
      name: 'x',
      attachables: [fileSendTarget({ kind: 'file', path: file }, ac.signal)],
      signal: ac.signal,
    });
    const s = await h.manager.get(cs.id, { signal: ac.signal });
    const sizes = [1, 127, 128, 16_384, 0, 262_144, 2 * 1024 * 1024 + 3, 5];
    for (let i = 0; i < 24; i++) sizes.push(200_000 + i * 7919);
    const chunks = sizes.map((n, i) => {
      const b = Buffer.allocUnsafe(n);
      for (let j = 0; j < n; j += 4096) b[j] = (i + j) & 0xff;
      return b.fill(i & 0xff, 0, Math.min(n, 64));
    });
    async function* gen() {
      yield* chunks;
    }
    await sendTarToClient(s, gen(), {}, ac.signal);
    expect((await readFile(file)).equals(Buffer.concat(chunks))).toBe(true);
    await cs.close();
  });

  it('fails clearly when the client did not advertise FileSend', async () => {
    const cs = await startSession({ conn: h.open, name: 'x', attachables: [], signal: ac.signal });
    const s = await h.manager.get(cs.id, { signal: ac.signal });
    await expect(sendDirToClient(s, h.tmp, ac.signal)).rejects.toThrow(/FileSend\/DiffCopy not advertised/);
    await cs.close();
  });
});

describe('session lifetime', () => {
  it("aborts the session's signal when the client goes away, and get() times out afterwards", async () => {
    const ctl = new AbortController();
    const cs = await startSession({ conn: h.open, name: 'x', attachables: [], signal: ctl.signal });
    const s = await h.manager.get(cs.id, { signal: ac.signal });
    expect(s.signal.aborted).toBe(false);
    ctl.abort(new Error('user pressed ctrl-c'));
    await expect.poll(() => s.signal.aborted, { timeout: 5000 }).toBe(true);
    expect(s.signal.reason).toBeInstanceOf(Error);
    await expect(h.manager.get(cs.id, { signal: ac.signal, timeoutMs: 100 })).rejects.toThrow(
      /no active session/,
    );
  });

  it('get() waits for a session that registers later', async () => {
    const pending = h.manager.get('later-session', { signal: ac.signal, timeoutMs: 5000 });
    const cs = await startSession({
      conn: h.open,
      id: 'later-session',
      name: 'x',
      attachables: [],
      signal: ac.signal,
    });
    expect((await pending).id).toBe('later-session');
    await cs.close();
  });
});
