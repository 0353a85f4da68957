import { createHash } from 'node:crypto';
import {
  link,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import tar, { type Header } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LayerApplyError, applyLayer } from '../../worker/fs/layer-apply.js';

type E = Partial<Header> & { name: string; body?: string };

async function makeTar(entries: readonly E[]): Promise<Buffer> {
  const pack = tar.pack();
  const out: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) out.push(c as Buffer);
  })();
  for (const { body, ...h } of entries) {
    await new Promise<void>((resolve, reject) => {
      const header = { mtime: new Date('2020-01-02T03:04:05Z'), ...h };
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if ((h.type ?? 'file') === 'file') pack.entry(header, Buffer.from(body ?? ''), cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(out);
}

async function* stream(b: Buffer, chunk = 777) {
  for (let i = 0; i < b.length; i += chunk) yield b.subarray(i, i + chunk);
}
const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const signal = () => AbortSignal.timeout(20_000);
const exists = (p: string) =>
  lstat(p).then(
    () => true,
    () => false,
  );

let tmp: string;
let root: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'kiln-layer-'));
  root = path.join(tmp, 'root');
  await mkdir(root);
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('applyLayer', () => {
  it('unpacks files, dirs, symlinks, hardlinks, modes, owners, mtimes, fifos and devices (gzip or plain)', async () => {
    const longName = `deep/${'n'.repeat(120)}/${'m'.repeat(80)}.txt`;
    const t = await makeTar([
      { name: 'bin/', type: 'directory', mode: 0o755 },
      { name: 'bin/tool', body: '#!/bin/sh\n', mode: 0o4755, uid: 0, gid: 0 },
      { name: 'bin/alias', type: 'symlink', linkname: 'tool' },
      { name: 'bin/hard', type: 'link', linkname: 'bin/tool' },
      { name: 'home/', type: 'directory', mode: 0o750, uid: 1000, gid: 1001 },
      { name: 'home/f', body: 'owned', mode: 0o600, uid: 1000, gid: 1001 },
      { name: 'tmp/', type: 'directory', mode: 0o1777 },
      { name: 'dev/', type: 'directory', mode: 0o755 },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/pipe', type: 'fifo', mode: 0o644 },
      { name: 'deep/', type: 'directory', mode: 0o755 },
      { name: `deep/${'n'.repeat(120)}/`, type: 'directory', mode: 0o755 },
      { name: longName, body: 'long' },
    ]);
    for (const gz of [false, true]) {
      const dir = path.join(tmp, gz ? 'gz' : 'plain');
      await mkdir(dir);
      const res = await applyLayer(dir, stream(gz ? gzipSync(t) : t), signal());
      expect(res).toEqual({ diffID: sha(t), bytes: t.length });
      const tool = await stat(path.join(dir, 'bin/tool'));
      expect(tool.mode & 0o7777).toBe(0o4755);
      expect(await readlink(path.join(dir, 'bin/alias'))).toBe('tool');
      expect((await stat(path.join(dir, 'bin/hard'))).ino).toBe(tool.ino);
      const home = await stat(path.join(dir, 'home'));
      expect([home.uid, home.gid, home.mode & 0o7777]).toEqual([1000, 1001, 0o750]);
      expect(home.mtime.toISOString()).toBe('2020-01-02T03:04:05.000Z');
      expect((await stat(path.join(dir, 'home/f'))).uid).toBe(1000);
      expect((await stat(path.join(dir, 'tmp'))).mode & 0o7777).toBe(0o1777);
      expect((await lstat(path.join(dir, 'dev/pipe'))).isFIFO()).toBe(true);
      const dn = await lstat(path.join(dir, 'dev/null'));
      expect(dn.isCharacterDevice()).toBe(true);
      expect(dn.rdev).toBe((1 << 8) | 3);
      expect(await readFile(path.join(dir, longName), 'utf8')).toBe('long');
    }
  });

  it('whiteouts delete, opaque dirs drop lower children, and shared files are replaced, not edited', async () => {
    await mkdir(path.join(root, 'etc/conf.d'), { recursive: true });
    await writeFile(path.join(root, 'etc/conf.d/old-a'), 'a');
    await writeFile(path.join(root, 'etc/conf.d/old-b'), 'b');
    await writeFile(path.join(root, 'etc/gone'), 'x');
    await mkdir(path.join(root, 'var/cache'), { recursive: true });
    await writeFile(path.join(root, 'var/cache/junk'), 'junk');
    // `root` plays a hardlink-shared clone: etc/shared is the parent snapshot's inode too.
    const parentFile = path.join(tmp, 'parent-shared');
    await writeFile(parentFile, 'parent content');
    await link(parentFile, path.join(root, 'etc-shared'));
    const t = await makeTar([
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/.wh.gone', body: '' },
      { name: 'etc/conf.d/', type: 'directory', mode: 0o755 },
      { name: 'etc/conf.d/.wh..wh..opq', body: '' },
      { name: 'etc/conf.d/new', body: 'new' },
      { name: 'etc-shared', body: 'layer content', mode: 0o600 },
      { name: '.wh.var', body: '' },
    ]);
    await applyLayer(root, stream(t), signal());
    expect(await exists(path.join(root, 'etc/gone'))).toBe(false);
    expect(await exists(path.join(root, 'etc/.wh.gone'))).toBe(false);
    expect((await readdir(path.join(root, 'etc/conf.d'))).sort()).toEqual(['new']);
    expect(await exists(path.join(root, 'var'))).toBe(false);
    expect(await readFile(path.join(root, 'etc-shared'), 'utf8')).toBe('layer content');
    expect(await readFile(parentFile, 'utf8')).toBe('parent content');
    expect((await stat(parentFile)).mode & 0o777).not.toBe(0o600);
  });

  it('replaces a symlink instead of writing through it', async () => {
    const outside = path.join(tmp, 'outside.txt');
    await writeFile(outside, 'precious');
    await symlink(outside, path.join(root, 'passwd'));
    await applyLayer(root, stream(await makeTar([{ name: 'passwd', body: 'layer' }])), signal());
    expect(await readFile(outside, 'utf8')).toBe('precious');
    expect((await lstat(path.join(root, 'passwd'))).isFile()).toBe(true);
  });

  it('resolves parents through symlinks inside the root, as a chroot would', async () => {
    const outsideDir = path.join(tmp, 'outside-dir');
    await mkdir(outsideDir);
    const t = await makeTar([
      { name: 'escape', type: 'symlink', linkname: outsideDir },
      { name: 'escape/file', body: 'x' },
      { name: 'rel', type: 'symlink', linkname: '../../../..' },
      { name: 'rel/file2', body: 'y' },
    ]);
    await applyLayer(root, stream(t), signal());
    expect(await readdir(outsideDir)).toEqual([]);
    expect(await readFile(path.join(root, outsideDir, 'file'), 'utf8')).toBe('x');
    expect(await readFile(path.join(root, 'file2'), 'utf8')).toBe('y');
  });

  it.each([
    ['../evil', [{ name: '../evil', body: 'x' }]],
    ['a/../../evil', [{ name: 'a/../../evil', body: 'x' }]],
    ['/abs', [{ name: '/abs', body: 'x' }]],
    ['hl', [{ name: 'hl', type: 'link', linkname: '../outside.txt' }]],
    ['hl2', [{ name: 'hl2', type: 'link', linkname: 'missing' }]],
  ] as [string, E[]][])('rejects the hostile entry %s and writes nothing outside', async (entry, entries) => {
    const before = (await readdir(tmp)).sort();
    await writeFile(path.join(tmp, 'outside.txt'), 'o');
    const t = await makeTar(entries);
    const err = await applyLayer(root, stream(t), signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LayerApplyError);
    expect((err as Error).message).toContain(JSON.stringify(entry));
    expect((await readdir(tmp)).sort()).toEqual([...before, 'outside.txt'].sort());
    expect(await readFile(path.join(tmp, 'outside.txt'), 'utf8')).toBe('o');
  });

  it('an entry under a file from a lower layer is a clear error naming both', async () => {
    await writeFile(path.join(root, 'etc'), 'a file, not a directory');
    const t = await makeTar([{ name: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n' }]);
    const err = await applyLayer(root, stream(t), signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LayerApplyError);
    expect((err as Error).message).toBe('layer entry "etc/passwd": etc is not a directory');
  });

  it('an opaque marker keeps the parents this layer made and removes what lower layers put there', async () => {
    await mkdir(path.join(root, 'd/old'), { recursive: true });
    await writeFile(path.join(root, 'd/old/f'), 'lower');
    const t = await makeTar([
      { name: 'd/new/f', body: 'upper' },
      { name: 'd/.wh..wh..opq', body: '' },
    ]);
    await applyLayer(root, stream(t), signal());
    expect(await readdir(path.join(root, 'd'))).toEqual(['new']);
    expect(await readFile(path.join(root, 'd/new/f'), 'utf8')).toBe('upper');
  });

  it('a hardlink whose target path goes through a symlink to outside links inside the root only', async () => {
    await writeFile(path.join(tmp, 'secret'), 's');
    const t = await makeTar([
      { name: 'out', type: 'symlink', linkname: tmp },
      { name: 'hl', type: 'link', linkname: 'out/secret' },
    ]);
    const err = await applyLayer(root, stream(t), signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LayerApplyError);
    expect((await stat(path.join(tmp, 'secret'))).nlink).toBe(1);
  });
});
