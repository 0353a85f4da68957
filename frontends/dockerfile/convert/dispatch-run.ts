import { posix } from 'node:path';
import type { MountSpec } from '../../../client/llb/exec-op.js';
import { mkdir, mkfile } from '../../../client/llb/file-op.js';
import { type NetworkMode, State } from '../../../client/llb/state.js';
import { InvalidArgumentError } from '../../../proto/errors.js';
import type { CommandOf, KeyValueOptional } from '../instructions/commands.js';
import { chompHeredocContent, parseHeredoc } from '../parser/heredoc.js';
import { type EnvGetter, ShellLex } from '../shell/lex.js';
import {
  type DispatchContext,
  messageOf,
  opOptions,
  prefixCommand,
  type StageState,
  stateEnv,
  withShell,
} from './dispatch-state.js';
import { commitToHistory } from './image-config.js';
import { mountFrom, parseRunMount, type RunMount } from './run-mounts.js';

// RUN → one ExecOp (dispatchRun, convert_runmount.go, convert_secrets.go, convert_ssh.go).

/** First line of a heredoc body, `...` when there are more (progress names). */
function summarizeHeredoc(doc: string): string {
  const lines = doc.trim().replace(/\r\n/g, '\n').split('\n');
  return (lines[0] ?? '') + (lines.length > 1 ? '...' : '');
}

/** `|2 A=1 B=2 /bin/sh -c …`: the ARGs in scope prefix RUN's history entry (runCommandString). */
function runCommandString(
  args: readonly string[],
  buildArgs: readonly KeyValueOptional[],
  env: EnvGetter,
): string {
  const entries = new Map<string, string>();
  for (const arg of buildArgs) entries.set(arg.key, env(arg.key) ?? arg.value ?? '');
  const prefix = entries.size > 0 ? [`|${entries.size}`, ...[...entries].map(([k, v]) => `${k}=${v}`)] : [];
  return [...prefix, ...args].join(' ');
}

function safeHeredocHeader(word: string): ReturnType<typeof parseHeredoc> {
  try {
    return parseHeredoc(word);
  } catch {
    return undefined;
  }
}

const networkModes: Readonly<Record<string, NetworkMode | undefined>> = {
  default: undefined,
  none: 'none',
  host: 'host',
};

export function dispatchRun(ds: StageState, cmd: CommandOf<'run'>, ctx: DispatchContext): void {
  const env = stateEnv(ds);
  const fail = (message: string, cause?: unknown): never => {
    throw new InvalidArgumentError(message, { location: cmd.location, ...(cause ? { cause } : {}) });
  };
  let args = [...cmd.cmdLine];
  let customName = cmd.original.trim();
  const mounts: MountSpec[] = [];

  if (cmd.files.length > 0) {
    if (args.length !== 1 || !cmd.prependShell)
      fail(`parsing produced an invalid run command: [${args.join(' ')}]`);
    const first = cmd.files[0] as (typeof cmd.files)[number];
    if (safeHeredocHeader(args[0] as string)) {
      const data = first.chomp ? chompHeredocContent(first.data) : first.data;
      if (ds.image.os !== 'windows' && data.startsWith('#!')) {
        // A script with its own interpreter: written to scratch, mounted read-only and executed.
        const script = State.scratch()
          .dir('/')
          .file(mkfile(first.name, 0o755, data), { customName: '[internal] preparing inline document' });
        mounts.push({ type: 'bind', dest: '/dev/pipes/', source: script, selector: '/', readonly: true });
        args = [posix.join('/dev/pipes/', first.name)];
      } else {
        args = [data];
      }
      customName += ` (${summarizeHeredoc(first.data)})`;
    } else {
      // Several heredocs (or one inside a longer command): the shell gets them back verbatim.
      let script = args[0] as string;
      for (const f of cmd.files) script += `\n${f.data}${f.name}`;
      args = [script];
    }
  }
  if (cmd.prependShell) args = withShell(ds.image, args);

  const sources = ds.mountSources.get(cmd) ?? [];
  const secretEnv: { id: string; name: string; optional?: true }[] = [];
  cmd.mounts.forEach((raw, i) => {
    let m: RunMount;
    try {
      m = parseRunMount(raw, (word) => ctx.shlex.processWord(word, env));
    } catch (err) {
      return fail(messageOf(err), err);
    }
    if (m.type === 'secret' && m.env !== '') {
      // BuildKit: a secret with env= is also (without a target, only) an environment variable.
      const id = m.source || m.id || posix.basename(m.target) || m.env;
      secretEnv.push({ id, name: m.env, ...(m.required ? {} : { optional: true }) });
      if (!ds.outline.secrets.has(id))
        ds.outline.secrets.set(id, { required: m.required, location: cmd.location });
      if (m.target === '') return;
    }
    const mount = lowerMount(ds, m, sources[i], ctx, fail);
    if (mount.type === 'secret' || mount.type === 'ssh') {
      const seen = mount.type === 'secret' ? ds.outline.secrets : ds.outline.ssh;
      const id = mount.type === 'ssh' && mount.id === '' ? 'default' : mount.id;
      if (!seen.has(id)) seen.set(id, { required: m.required, location: cmd.location });
    }
    mounts.push(mount);
  });

  const network = networkModes[cmd.network];
  if (!Object.hasOwn(networkModes, cmd.network))
    fail(`unsupported network mode ${JSON.stringify(cmd.network)}`);
  if (cmd.security !== 'sandbox' && cmd.security !== 'insecure') {
    fail(`unsupported security mode ${JSON.stringify(cmd.security)}`);
  }

  const rawLex = new ShellLex(ctx.shlex.escapeToken, { rawQuotes: true, skipUnsetEnv: true });
  let shown = customName;
  try {
    shown = rawLex.processWord(customName, env);
  } catch {
    // BuildKit keeps the raw text when it does not expand.
  }
  const name = prefixCommand(ds, uppercaseFirstWord(shown));
  const exec = ds.state.run({
    args,
    mounts,
    ...(network ? { network } : {}),
    ...(cmd.security === 'insecure' ? { security: 'insecure' as const } : {}),
    ...(secretEnv.length > 0 ? { secretEnv } : {}),
    ...(ctx.proxyEnv ? { proxyEnv: ctx.proxyEnv } : {}),
    ...(ctx.extraHosts.length > 0 ? { extraHosts: ctx.extraHosts } : {}),
    ...opOptions(ds, name, { description: { 'com.docker.dockerfile.v1.command': cmd.original.trim() } }),
  });
  ds.state = exec.root();
  commitToHistory(ds.image, `RUN ${runCommandString(args, ds.buildArgs, env)}`, true, true);
}

function uppercaseFirstWord(text: string): string {
  const sp = text.indexOf(' ');
  return sp < 0 ? text.toUpperCase() : text.slice(0, sp).toUpperCase() + text.slice(sp);
}

/** One --mount as an ExecOp mount (dispatchRunMounts, convert_secrets.go, convert_ssh.go). */
function lowerMount(
  ds: StageState,
  m: RunMount,
  from: StageState | undefined,
  ctx: DispatchContext,
  fail: (message: string) => never,
): MountSpec {
  if (m.type === 'secret') {
    let id = m.source || m.id;
    if (id === '') {
      if (m.target === '') fail('one of source, target required');
      id = posix.basename(m.target);
    }
    return {
      type: 'secret',
      dest: m.target || `/run/secrets/${posix.basename(id)}`,
      id,
      ...(m.required ? {} : { optional: true }),
      ...(m.uid !== undefined || m.gid !== undefined || m.mode !== undefined
        ? { uid: m.uid ?? 0, gid: m.gid ?? 0, mode: m.mode ?? 0o400 }
        : {}),
    };
  }
  if (m.type === 'ssh') {
    if (m.source !== '') fail('ssh does not support source');
    return {
      type: 'ssh',
      id: m.id,
      ...(m.target ? { dest: m.target } : {}),
      ...(m.required ? {} : { optional: true }),
      ...(m.uid !== undefined || m.gid !== undefined || m.mode !== undefined
        ? { uid: m.uid ?? 0, gid: m.gid ?? 0, mode: m.mode ?? 0o600 }
        : {}),
    };
  }
  const fromName = mountFrom(m);
  if (from && !from.dispatched) {
    fail(
      `cannot mount from stage ${JSON.stringify(m.from)} to ${JSON.stringify(m.target)}, stage needs to be defined before current command`,
    );
  }
  let source = fromName === '' ? ctx.buildContext : from ? from.state : State.scratch();
  let target = m.target;
  if (!posix.isAbsolute(posix.normalize(target || '.'))) target = posix.join('/', ds.state.getDir(), target);
  if (target === '/') fail(`invalid mount target ${JSON.stringify(target)}`);
  if (m.type === 'tmpfs') return { type: 'tmpfs', dest: target, ...(m.size > 0 ? { size: m.size } : {}) };

  let selector: string | undefined;
  const src = posix.join('/', m.source);
  if (src !== '/') {
    selector = src;
  } else if (m.uid !== undefined || m.gid !== undefined || m.mode !== undefined) {
    // The cache dir's owner and mode come from a mkdir on the mount's source.
    source = source.file(
      mkdir('/cache', m.mode ?? 0o755, { owner: { user: { uid: m.uid ?? 0 }, group: { uid: m.gid ?? 0 } } }),
      { customName: '[internal] settings cache mount permissions' },
    );
    selector = '/cache';
  }
  if (fromName === '') ds.ctxPaths.add(src);

  if (m.type === 'cache') {
    return {
      type: 'cache',
      dest: target,
      id: `${ctx.cacheIdNamespace}/${m.id}`,
      ...(m.sharing && m.sharing !== 'shared' ? { sharing: m.sharing } : {}),
      ...(source.isScratch ? {} : { source }),
      ...(selector ? { selector } : {}),
      ...(m.readOnly ? { readonly: true } : {}),
    };
  }
  return {
    type: 'bind',
    dest: target,
    ...(source.isScratch ? {} : { source }),
    ...(selector ? { selector } : {}),
    ...(m.readOnly ? { readonly: true } : { noOutput: true }),
  };
}
