import { readdir, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientSession, startSession } from '../../client/session/start-session.js';
import { sshAgentAttachable } from '../../client/session/ssh-provider.js';
import type { ImmutableRef } from '../../daemon/solver/types.js';
import { type Harness, startHarness } from '../session/harness.js';
import { ctx, type ExecEnv, execOp, openExecEnv, sh } from './harness.js';

let env: ExecEnv;
let h: Harness;
let cs: ClientSession;
let agent: net.Server;
let agentPath: string;
const ac = new AbortController();
const signal = ac.signal;

beforeAll(async () => {
  h = await startHarness();
  env = await openExecEnv(h.manager);
  agentPath = path.join(h.tmp, 'agent.sock');
  // Stands in for ssh-agent: answers every message with "agent:" + the message.
  agent = net.createServer((s) =>
    s.on('data', (d: Buffer) => s.write(Buffer.concat([Buffer.from('agent:'), d]))),
  );
  await new Promise<void>((r) => agent.listen(agentPath, r));
  cs = await startSession({
    conn: h.open,
    name: 'ssh-test',
    attachables: [sshAgentAttachable([{ id: 'default', paths: [agentPath] }])],
    signal,
  });
});

afterAll(async () => {
  await cs.close();
  ac.abort(new Error('tests over'));
  await new Promise((r) => agent.close(r));
  await rm(agentPath, { force: true });
  await env.close();
  await h.close();
});

const sshMount = (id: string, optional = false) => ({
  input: -1,
  dest: '/run/buildkit/ssh_agent.0',
  output: -1,
  mountType: 2,
  SSHOpt: { ID: id, uid: 1000, gid: 1000, mode: 0o600, optional },
});

async function findSocket(): Promise<string> {
  for (;;) {
    for (const d of await readdir(env.workRoot).catch(() => [] as string[])) {
      const p = path.join(env.workRoot, d, 'ssh-0', 'agent.sock');
      if (
        await stat(p).then(
          () => true,
          () => false,
        )
      )
        return p;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('ssh agent forwarding', () => {
  it('binds a socket whose connections reach the client agent', async () => {
    const c = ctx(signal, [cs.id]);
    const op = execOp({
      args: sh('stat -c "%F %u %a" /run/buildkit/ssh_agent.0; sleep 1.5'),
      mounts: [{ input: 0, dest: '/', output: 0 }, sshMount('default')],
    });
    const running = env.factory(op, { numInputs: 1, platform: null, name: 't' }).exec(c, [env.busybox]);
    const sockPath = await findSocket();
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect(sockPath, () => s.write('hello'));
      s.on('data', (d: Buffer) => {
        resolve(d.toString());
        s.end();
      });
      s.on('error', reject);
    });
    expect(reply).toBe('agent:hello');
    const outs = await running;
    try {
      expect(c.out()).toContain('socket 1000 600');
      // The socket mount point is a stub, not part of the result.
      expect(
        await stat(path.join((outs[0] as ImmutableRef).snapshot.dir, 'run')).catch(() => undefined),
      ).toBe(undefined);
    } finally {
      await Promise.all(outs.map((o) => o.release()));
    }
  });

  it('fails when the agent id is unknown unless optional', async () => {
    const mk = (optional: boolean) =>
      execOp({
        args: ['/bin/true'],
        mounts: [{ input: 0, dest: '/', output: -1 }, sshMount('other', optional)],
      });
    const run = (optional: boolean) =>
      env
        .factory(mk(optional), { numInputs: 1, platform: null, name: 't' })
        .exec(ctx(signal, [cs.id]), [env.busybox]);
    await expect(run(false)).rejects.toThrow('no SSH key "other" forwarded from the client');
    expect(await run(true)).toEqual([]);
  });
});
