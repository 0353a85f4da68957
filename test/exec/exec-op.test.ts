import { execFileSync } from 'node:child_process';
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImmutableRef } from '../../daemon/solver/types.js';
import { listMountsUnder } from '../../worker/mount/mount.js';
import { ctx, type ExecEnv, execOp, openExecEnv, sh } from './harness.js';

let env: ExecEnv;
const signal = new AbortController().signal;

beforeAll(async () => {
  env = await openExecEnv();
});

afterAll(async () => {
  await env.close();
});

async function run(op: ReturnType<typeof execOp>, inputs: ImmutableRef[] = [env.busybox], c = ctx(signal)) {
  const resolved = env.factory(op, { numInputs: inputs.length, platform: null, name: 'test' });
  const outs = await resolved.exec(c, inputs);
  return { outs, log: c.out() };
}

const read = (ref: ImmutableRef, p: string) => readFile(path.join(ref.snapshot.dir, p), 'utf8');
const exists = (p: string) =>
  lstat(p).then(
    () => true,
    () => false,
  );

describe('exec op on runc', () => {
  it('writes files into the output and leaves the parent untouched', async () => {
    const { outs, log } = await run(
      execOp({ args: sh('echo hello > /data/new.txt && echo to-stdout && echo x >> /data/keep.txt') }),
    );
    const [out] = outs as [ImmutableRef];
    try {
      expect(log).toContain('to-stdout');
      expect(await read(out, 'data/new.txt')).toBe('hello\n');
      expect(await read(out, 'data/keep.txt')).toBe('keep\nx\n');
      expect(await read(env.busybox, 'data/keep.txt')).toBe('keep\n');
      expect(await exists(path.join(env.busybox.snapshot.dir, 'data/new.txt'))).toBe(false);
      // runc's mount points were stubs the step did not make itself.
      expect(await exists(path.join(out.snapshot.dir, 'proc'))).toBe(false);
      expect(await exists(path.join(out.snapshot.dir, 'etc/hosts'))).toBe(false);
    } finally {
      await out.release();
    }
  });

  it('propagates deletes and opaque directory replacement', async () => {
    const { outs } = await run(
      execOp({
        args: sh('rm /data/keep.txt && rm -rf /data/old && mkdir /data/old && echo b > /data/old/b.txt'),
      }),
    );
    const [out] = outs as [ImmutableRef];
    try {
      expect(await exists(path.join(out.snapshot.dir, 'data/keep.txt'))).toBe(false);
      expect((await readdir(path.join(out.snapshot.dir, 'data/old'))).sort()).toEqual(['b.txt']);
      expect(await read(env.busybox, 'data/old/a.txt')).toBe('a\n');
    } finally {
      await out.release();
    }
  });

  it('fails with the exit code and the last lines of output', async () => {
    const op = execOp({ args: sh('for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line$i; done; exit 3') });
    const err = await run(op).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toContain('process "/bin/sh -c for i in');
    expect(msg).toContain('did not complete successfully: exit code: 3');
    expect(msg).toContain('line12');
    expect(msg).toContain('line3');
    expect(msg).not.toContain('line2\n');
  });

  it('applies env, cwd and user', async () => {
    const { outs, log } = await run(
      execOp({
        args: sh('echo "$FOO $PATH" ; pwd ; id'),
        env: ['FOO=bar'],
        cwd: '/work/dir',
        user: 'app',
      }),
    );
    const [out] = outs as [ImmutableRef];
    try {
      expect(log).toContain('bar /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
      expect(log).toContain('/work/dir');
      expect(log).toMatch(/uid=1000\(app\) gid=1000\(app\) groups=(.*)50\(staff\)/);
      const st = await lstat(path.join(out.snapshot.dir, 'work/dir'));
      expect(st.uid).toBe(1000);
    } finally {
      await out.release();
    }
  });

  it('rejects an unknown user', async () => {
    await expect(run(execOp({ args: ['/bin/true'], user: 'nobody-here' }))).rejects.toThrow(
      'unable to find user nobody-here: no matching entries in passwd file',
    );
  });

  it('network none has only lo; host network sees the host interfaces', async () => {
    const none = await run(execOp({ args: sh('ls /sys/class/net'), network: 2 }));
    await Promise.all(none.outs.map((r) => r.release()));
    expect(none.log.trim().split(/\s+/)).toEqual(['lo']);
    const host = await run(execOp({ args: sh('ls /sys/class/net') }));
    await Promise.all(host.outs.map((r) => r.release()));
    const hostIfaces = (await readdir('/sys/class/net')).sort();
    expect(host.log.trim().split(/\s+/).sort()).toEqual(hostIfaces);
  });

  it('mounts a tmpfs that leaves nothing behind', async () => {
    const { outs, log } = await run(
      execOp({
        args: sh('echo t > /scratch/f && grep " /scratch " /proc/mounts'),
        mounts: [
          { input: 0, dest: '/', output: 0 },
          { input: -1, dest: '/scratch', output: -1, mountType: 4, TmpfsOpt: { size: 1 << 20 } },
        ],
      }),
    );
    const [out] = outs as [ImmutableRef];
    try {
      expect(log).toMatch(/tmpfs \/scratch tmpfs .*size=1024k/);
      expect(await exists(path.join(out.snapshot.dir, 'scratch'))).toBe(false);
    } finally {
      await out.release();
    }
  });

  it('leaves no mounts, containers or processes behind', async () => {
    const ops = Array.from({ length: 20 }, (_, i) =>
      i % 4 === 3 ? execOp({ args: sh('exit 1') }) : execOp({ args: sh(`echo ${i} > /n`) }),
    );
    for (const op of ops) {
      const r = await run(op).catch(() => undefined);
      if (r) await Promise.all(r.outs.map((o) => o.release()));
    }
    expect(await listMountsUnder(env.root)).toEqual([]);
    expect(await env.executor.list(signal)).toEqual([]);
    expect(await readdir(env.workRoot)).toEqual([]);
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps).not.toContain(env.stateDir);
  });
});
