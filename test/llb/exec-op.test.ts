import { describe, expect, it } from 'vitest';
import { dumpDefinition } from '../../client/llb/dump.js';
import { image, local, marshal, mkdir, scratch } from '../../client/llb/index.js';

interface DumpedMount {
  dest: string;
  input: number;
  output: number;
  readonly?: boolean;
  selector?: string;
  mountType?: number;
  cacheOpt?: { ID: string; sharing?: number };
  secretOpt?: { ID: string; mode: number; optional?: boolean };
  SSHOpt?: { ID?: string; mode: number; optional?: boolean };
  TmpfsOpt?: { size: number };
}
interface DumpedExec {
  exec: {
    meta: { args: string[]; env?: string[]; cwd: string; user?: string; removeMountStubsRecursive?: boolean };
    mounts: DumpedMount[];
    network?: number;
    security?: number;
  };
  inputs?: { digest: string; index: number }[];
  platform?: { OS: string; Architecture: string };
}

const lastExec = (st: Parameters<typeof marshal>[0]) => {
  const ops = dumpDefinition(marshal(st));
  const found = ops.filter((o) => (o.op as Partial<DumpedExec>).exec !== undefined).at(-1);
  if (!found) throw new Error('no exec op');
  return { op: found.op as DumpedExec, metadata: found.metadata as { caps?: Record<string, boolean> } };
};

describe('ExecOp marshalling (client/llb/exec.go)', () => {
  const base = image('alpine:3.18', { platform: { os: 'linux', architecture: 'arm64' } })
    .addEnv('PATH', '/bin')
    .dir('/src')
    .user('app');

  it('sorts filesystem mounts by target, root first; secrets then ssh sockets follow in order', () => {
    const ctx = local('context');
    const run = base.run({
      args: ['make'],
      mounts: [
        { type: 'ssh', id: 'b', dest: '/ssh/b' },
        { type: 'secret', dest: '/run/secrets/z', id: 'z' },
        { type: 'tmpfs', dest: '/tmp', size: 1024 },
        { type: 'bind', dest: '/ctx', source: ctx, selector: '/sub', readonly: true },
        { type: 'cache', dest: '/cache', id: '/cache', sharing: 'private' },
        { type: 'ssh', id: '' },
        { type: 'secret', dest: '/run/secrets/a', id: 'a', optional: true },
      ],
    });
    const { op, metadata } = lastExec(run.root());
    expect(op.exec.mounts.map((m) => m.dest)).toEqual([
      '/',
      '/cache',
      '/ctx',
      '/tmp',
      '/run/secrets/z',
      '/run/secrets/a',
      '/ssh/b',
      '/run/buildkit/ssh_agent.1',
    ]);
    const [root, cache, bind, tmpfs, z, , sshB, sshDefault] = op.exec.mounts;
    expect(root).toEqual({ dest: '/', input: 0, output: 0 });
    expect(cache).toEqual({
      dest: '/cache',
      input: -1,
      output: -1,
      mountType: 3,
      cacheOpt: { ID: '/cache', sharing: 1 },
    });
    expect(bind).toEqual({ dest: '/ctx', input: 1, output: -1, readonly: true, selector: '/sub' });
    expect(tmpfs).toEqual({ dest: '/tmp', input: -1, output: -1, mountType: 4, TmpfsOpt: { size: 1024 } });
    // Secret and ssh mounts leave `output` unset (0) on the wire, as BuildKit's client does.
    expect(z).toEqual({
      dest: '/run/secrets/z',
      input: -1,
      output: 0,
      mountType: 1,
      secretOpt: { ID: 'z', mode: 0o400 },
    });
    expect(sshB).toMatchObject({ SSHOpt: { ID: 'b', mode: 0o600 }, input: -1, output: 0, mountType: 2 });
    expect(sshDefault?.SSHOpt).toEqual({ mode: 0o600 });
    // The first socket is announced to the process unless the state already sets it.
    expect(op.exec.meta.env).toEqual(['PATH=/bin', 'SSH_AUTH_SOCK=/ssh/b']);
    expect(op.exec.meta).toMatchObject({
      args: ['make'],
      cwd: '/src',
      user: 'app',
      removeMountStubsRecursive: true,
    });
    expect(op.platform).toEqual({ OS: 'linux', Architecture: 'arm64' });
    expect(Object.keys(metadata.caps ?? {}).sort()).toEqual([
      'exec.meta.base',
      'exec.mount.bind',
      'exec.mount.cache',
      'exec.mount.cache.sharing',
      'exec.mount.secret',
      'exec.mount.selector',
      'exec.mount.ssh',
      'exec.mount.tmpfs',
      'exec.mount.tmpfs.size',
    ]);
  });

  it('numbers outputs over writable binds only; read-write no-output binds stay writable', () => {
    const data = scratch().file(mkdir('/d', 0o755));
    const run = base.run({
      args: ['true'],
      mounts: [
        { type: 'bind', dest: '/out', source: data },
        { type: 'bind', dest: '/scratchpad', source: data, noOutput: true },
      ],
      network: 'host',
      security: 'insecure',
      proxyEnv: { http: 'http://p:1' },
    });
    const { op, metadata } = lastExec(run.root());
    expect(op.exec.mounts).toEqual([
      { dest: '/', input: 0, output: 0 },
      { dest: '/out', input: 1, output: 1 },
      { dest: '/scratchpad', input: 1, output: -1 },
    ]);
    expect(op.inputs).toHaveLength(2);
    expect([op.exec.network, op.exec.security]).toEqual([1, 1]);
    expect(metadata.caps).toMatchObject({
      'exec.meta.network': true,
      'exec.meta.security': true,
      'exec.meta.proxyenv': true,
    });
    expect(() => run.getMount('/scratchpad')).toThrow('no writable mount at /scratchpad');
    const out = lastExec(run.getMount('/out').file(mkdir('/x', 0o755)));
    expect(out.op.exec.mounts[1]?.output).toBe(1);
  });

  it('keeps a user SSH_AUTH_SOCK and gives a scratch root input -1', () => {
    const run = scratch()
      .addEnv('SSH_AUTH_SOCK', '/mine')
      .run({ args: ['x'], mounts: [{ type: 'ssh', id: 'default' }] });
    const { op, metadata } = lastExec(run.root());
    expect(op.exec.meta.env).toEqual(['SSH_AUTH_SOCK=/mine']);
    expect(op.exec.mounts[0]).toEqual({ dest: '/', input: -1, output: 0 });
    expect(op.exec.mounts[1]?.dest).toBe('/run/buildkit/ssh_agent.0');
    expect(metadata.caps?.['exec.mount.bind']).toBeUndefined();
  });
});
