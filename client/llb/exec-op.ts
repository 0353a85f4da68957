import { buildMetadata, type OpOptions } from './op-options.js';
import {
  CacheSharing,
  MountTypes,
  NetModes,
  type PbExecOp,
  type PbMeta,
  type PbMount,
  type PbOp,
  type PbOpMetadata,
  type PbProxyEnv,
  SecurityModes,
} from './pb-types.js';
import { platformToPb } from './platform.js';
import type { NetworkMode, State } from './state.js';
import type { MarshalContext, Output, Vertex } from './vertex.js';

export interface SecretMountOptions {
  readonly id: string;
  readonly uid?: number;
  readonly gid?: number;
  readonly mode?: number;
  readonly optional?: boolean;
}

export type MountSpec =
  | {
      readonly type: 'bind';
      readonly dest: string;
      /** Absent: scratch. */
      readonly source?: State;
      readonly selector?: string;
      readonly readonly?: boolean;
      /** Writable, but changes are thrown away (no output). */
      readonly noOutput?: boolean;
    }
  | {
      readonly type: 'cache';
      readonly dest: string;
      readonly id: string;
      readonly sharing?: keyof typeof CacheSharing;
      readonly source?: State;
      readonly selector?: string;
      readonly readonly?: boolean;
    }
  | { readonly type: 'tmpfs'; readonly dest: string; readonly size?: number }
  | ({ readonly type: 'secret'; readonly dest: string } & SecretMountOptions)
  | ({ readonly type: 'ssh'; readonly dest?: string } & SecretMountOptions);

export interface RunOptions extends OpOptions {
  readonly args: readonly string[];
  readonly mounts?: readonly MountSpec[];
  readonly network?: NetworkMode;
  readonly security?: 'sandbox' | 'insecure';
  readonly proxyEnv?: { http?: string; https?: string; ftp?: string; no?: string; all?: string };
  readonly extraHosts?: readonly { host: string; ip: string }[];
  /** Secrets exposed as environment variables (ExecOp.secretenv). */
  readonly secretEnv?: readonly { id: string; name: string; optional?: boolean }[];
}

interface PlannedMount {
  readonly spec: MountSpec;
  readonly output: number;
}

/** One ExecOp; the root mount is the base state at "/". */
export class ExecVertex implements Vertex {
  readonly #base: State;
  readonly #opts: RunOptions;
  readonly #mounts: readonly PlannedMount[];
  readonly inputs: readonly Output[];

  constructor(base: State, opts: RunOptions) {
    this.#base = base;
    this.#opts = opts;
    const root: MountSpec = { type: 'bind', dest: '/', ...(base.isScratch ? {} : { source: base }) };
    const all = opts.mounts ?? [];
    // BuildKit sorts filesystem mounts by target (the root "/" first) and appends secrets, then ssh
    // sockets, in the order given.
    const fsMounts = [root, ...all.filter((m) => m.type !== 'secret' && m.type !== 'ssh')].sort((a, b) =>
      mountDest(a) < mountDest(b) ? -1 : mountDest(a) > mountDest(b) ? 1 : 0,
    );
    let next = 0;
    const planned: PlannedMount[] = fsMounts.map((spec) => {
      const writable = spec.type === 'bind' && !spec.readonly && !spec.noOutput;
      return { spec, output: writable ? next++ : -1 };
    });
    for (const spec of all) if (spec.type === 'secret') planned.push({ spec, output: 0 });
    let sshIndex = 0;
    for (const spec of all) {
      if (spec.type !== 'ssh') continue;
      const dest = spec.dest ?? `/run/buildkit/ssh_agent.${sshIndex}`;
      sshIndex++;
      planned.push({ spec: { ...spec, dest }, output: 0 });
    }
    this.#mounts = planned;
    const inputs: Output[] = [];
    for (const m of this.#mounts) {
      const o = 'source' in m.spec ? m.spec.source?.output : undefined;
      if (o && !inputs.some((x) => x.vertex === o.vertex && x.index === o.index)) inputs.push(o);
    }
    this.inputs = inputs;
  }

  outputIndexOf(dest: string): number | undefined {
    const m = this.#mounts.find((x) => x.spec.dest === dest && x.spec.type === 'bind');
    return m && m.output >= 0 ? m.output : undefined;
  }

  marshal(ctx: MarshalContext): { op: PbOp; metadata: PbOpMetadata } {
    const inputs = this.inputs.map((o) => ctx.input(o));
    const indexOf = (s: State | undefined): number => {
      const o = s?.output;
      return o ? this.inputs.findIndex((x) => x.vertex === o.vertex && x.index === o.index) : -1;
    };
    const st = this.#base;
    const meta: PbMeta = { args: [...this.#opts.args] };
    const env = st.envList();
    const firstSsh = this.#mounts.find((m) => m.spec.type === 'ssh');
    if (firstSsh && st.getEnv('SSH_AUTH_SOCK') === undefined)
      env.push(`SSH_AUTH_SOCK=${mountDest(firstSsh.spec)}`);
    if (env.length > 0) meta.env = env;
    meta.cwd = st.getDir();
    const user = st.getUser();
    if (user) meta.user = user;
    const proxy = this.#opts.proxyEnv;
    if (proxy) {
      const pe: PbProxyEnv = {};
      if (proxy.http) pe.http_proxy = proxy.http;
      if (proxy.https) pe.https_proxy = proxy.https;
      if (proxy.ftp) pe.ftp_proxy = proxy.ftp;
      if (proxy.no) pe.no_proxy = proxy.no;
      if (proxy.all) pe.all_proxy = proxy.all;
      meta.proxy_env = pe;
    }
    if (this.#opts.extraHosts?.length)
      meta.extraHosts = this.#opts.extraHosts.map((h) => ({ Host: h.host, IP: h.ip }));
    if (st.meta.hostname) meta.hostname = st.meta.hostname;
    // BuildKit's client always asks for mount stubs (empty dirs/files made for mount points) to be
    // removed recursively after the run.
    meta.removeMountStubsRecursive = true;

    const caps = new Set<string>(['exec.meta.base']);
    const mounts: PbMount[] = this.#mounts.map(({ spec, output }) => {
      const m: PbMount = {};
      const input = 'source' in spec ? indexOf(spec.source) : -1;
      if (input !== 0) m.input = input;
      m.dest = mountDest(spec);
      if ((spec.type === 'bind' || spec.type === 'cache') && spec.readonly) m.readonly = true;
      if (output !== 0) m.output = output;
      if ('selector' in spec && spec.selector) {
        m.selector = spec.selector;
        caps.add('exec.mount.selector');
      }
      switch (spec.type) {
        case 'bind':
          if (input >= 0) caps.add('exec.mount.bind');
          break;
        case 'cache':
          caps.add('exec.mount.cache');
          caps.add('exec.mount.cache.sharing');
          m.mountType = MountTypes.cache;
          m.cacheOpt = {
            ID: spec.id,
            ...(spec.sharing && spec.sharing !== 'shared' ? { sharing: CacheSharing[spec.sharing] } : {}),
          };
          break;
        case 'tmpfs':
          caps.add('exec.mount.tmpfs');
          m.mountType = MountTypes.tmpfs;
          if (spec.size) {
            m.TmpfsOpt = { size: spec.size };
            caps.add('exec.mount.tmpfs.size');
          }
          break;
        case 'secret':
        case 'ssh': {
          caps.add(`exec.mount.${spec.type}`);
          m.mountType = MountTypes[spec.type];
          const opt = {
            ID: spec.id,
            ...(spec.uid ? { uid: spec.uid } : {}),
            ...(spec.gid ? { gid: spec.gid } : {}),
            // llb.AddSecret / AddSSHSocket defaults: 0400 for secrets, 0600 for agent sockets.
            mode: spec.mode ?? (spec.type === 'secret' ? 0o400 : 0o600),
            ...(spec.optional ? { optional: true } : {}),
          };
          if (spec.type === 'secret') m.secretOpt = opt;
          else m.SSHOpt = opt;
          break;
        }
        default: {
          const never: never = spec;
          throw new Error(`unknown mount ${String(never)}`);
        }
      }
      return m;
    });
    const exec: PbExecOp = { meta, mounts };
    if (proxy) caps.add('exec.meta.proxyenv');
    const network = this.#opts.network ?? st.meta.network;
    if (network && network !== 'sandbox') {
      exec.network = NetModes[network];
      caps.add('exec.meta.network');
    }
    if (this.#opts.secretEnv && this.#opts.secretEnv.length > 0) {
      exec.secretenv = this.#opts.secretEnv.map((e) => ({
        ID: e.id,
        name: e.name,
        ...(e.optional ? { optional: true } : {}),
      }));
      caps.add('exec.secretenv');
    }
    if (this.#opts.security === 'insecure') {
      exec.security = SecurityModes.insecure;
      caps.add('exec.meta.security');
    }
    const op: PbOp = {
      exec,
      platform: platformToPb(this.#opts.platform ?? st.getPlatform() ?? ctx.platform),
    };
    if (inputs.length > 0) op.inputs = inputs;
    return { op, metadata: buildMetadata(this.#opts, [...caps]) };
  }
}

function mountDest(spec: MountSpec): string {
  return spec.dest ?? '';
}
