import { execFileSync, spawnSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../proto/errors.js';
import { createRuncExecutor } from '../../worker/executor/runc.js';
import { resolveGroup, resolveUser } from '../../worker/fs/user-lookup.js';
import { listMountsUnder, mountOverlay, mountTmpfs, unmount } from '../../worker/mount/mount.js';
import { ctx, type ExecEnv, execOp, openExecEnv, sh } from './harness.js';

const signal = new AbortController().signal;
let env: ExecEnv;

beforeAll(async () => {
  env = await openExecEnv();
});

afterAll(async () => {
  await env.close();
});

describe('user lookup', () => {
  it('resolves names, numbers and groups inside the root', async () => {
    const root = env.busybox.snapshot.dir;
    expect(await resolveUser(root, '', signal)).toEqual({ uid: 0, gid: 0, additionalGids: [] });
    expect(await resolveUser(root, 'app', signal)).toEqual({ uid: 1000, gid: 1000, additionalGids: [50] });
    expect(await resolveUser(root, '1000', signal)).toEqual({ uid: 1000, gid: 1000, additionalGids: [50] });
    expect(await resolveUser(root, 'app:staff', signal)).toEqual({ uid: 1000, gid: 50, additionalGids: [] });
    expect(await resolveUser(root, '4242:4343', signal)).toEqual({
      uid: 4242,
      gid: 4343,
      additionalGids: [],
    });
    expect(await resolveUser(root, '4242', signal)).toEqual({ uid: 4242, gid: 0, additionalGids: [] });
    expect(await resolveGroup(root, 'staff', signal)).toBe(50);
    expect(await resolveGroup(root, '77', signal)).toBe(77);
    await expect(resolveUser(root, 'app:nogroup', signal)).rejects.toThrow(
      'unable to find group nogroup: no matching entries in group file',
    );
    const err = await resolveUser(root, 'ghost', signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
  });

  it('never reads outside the root through an /etc symlink', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'kiln-user-'));
    try {
      execFileSync('ln', ['-s', '/etc', path.join(root, 'etc')]);
      // /etc -> "/etc" resolves to <root>/etc again: a loop, not the host's passwd.
      await expect(resolveUser(root, 'root', signal)).rejects.toThrow();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('mount helpers', () => {
  it('mounts and unmounts overlay and tmpfs idempotently', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kiln-mnt-'));
    try {
      const [lower, upper, work, target, t2] = ['lower', 'upper', 'work', 'target', 'tmp'].map((d) =>
        path.join(dir, d),
      ) as [string, string, string, string, string];
      for (const d of [lower, upper, work, target, t2]) await mkdir(d);
      await writeFile(path.join(lower, 'f'), 'x');
      await mountOverlay({ lower: [lower], upper, work, target });
      await mountTmpfs(t2, { sizeBytes: 1 << 20, mode: 0o700 });
      expect((await listMountsUnder(dir)).sort()).toEqual([target, t2].sort());
      expect((await lstat(path.join(target, 'f'))).size).toBe(1);
      await unmount(target);
      await unmount(target);
      await unmount(t2);
      expect(await listMountsUnder(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('runc executor', () => {
  it('shares unchanged files with the parent through hardlinks (overlay path)', async () => {
    const outs = await env
      .factory(execOp({ args: sh('echo > /new') }), { numInputs: 1, platform: null, name: 't' })
      .exec(ctx(signal), [env.busybox]);
    try {
      const a = await lstat(path.join(env.busybox.snapshot.dir, 'bin/busybox'));
      const b = await lstat(path.join(outs[0]!.snapshot.dir, 'bin/busybox'));
      expect(b.ino).toBe(a.ino);
    } finally {
      await Promise.all(outs.map((o) => o.release()));
    }
  });

  it('reports a runc failure (missing binary) as an error', async () => {
    await expect(
      env
        .factory(execOp({ args: ['/no/such/binary'] }), { numInputs: 1, platform: null, name: 't' })
        .exec(ctx(signal), [env.busybox]),
    ).rejects.toThrow(/^runc run failed: .*no such file or directory/);
  });

  it('cleanupStale deletes containers left by a killed daemon', async () => {
    const stateDir = path.join(env.root, 'stale-runc');
    const bundle = await mkdtemp(path.join(env.root, 'bundle-'));
    execFileSync('runc', ['spec'], { cwd: bundle });
    const cfgPath = path.join(bundle, 'config.json');
    const cfg = JSON.parse(execFileSync('cat', [cfgPath], { encoding: 'utf8' })) as {
      process: { terminal: boolean; args: string[] };
      root: { path: string; readonly: boolean };
    };
    cfg.process.terminal = false;
    cfg.process.args = ['/bin/sleep', '60'];
    cfg.root = { path: env.busybox.snapshot.dir, readonly: true };
    await writeFile(cfgPath, JSON.stringify(cfg));
    const r = spawnSync('runc', ['--root', stateDir, 'run', '-d', '--bundle', bundle, 'stale1'], {
      stdio: 'ignore',
    });
    expect(r.status).toBe(0);
    const ex = createRuncExecutor({ stateDir });
    expect(await ex.list(signal)).toEqual(['stale1']);
    await ex.cleanupStale(signal);
    expect(await ex.list(signal)).toEqual([]);
    await rm(bundle, { recursive: true, force: true });
  });
});
