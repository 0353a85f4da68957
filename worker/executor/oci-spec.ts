import type { ExecMount, ExecRequest } from './types.js';

/**
 * The OCI runtime spec for one build step, shaped like Docker's and containerd's defaults
 * (BuildKit executor/oci/spec.go): default capabilities, masked /proc paths, private /dev.
 */

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
] as const;

const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

/** Host files generated per run and bind-mounted read-only. */
export interface EtcFiles {
  readonly hosts: string;
  readonly resolvConf: string;
  readonly hostname: string;
}

export interface SpecOptions {
  readonly request: ExecRequest;
  readonly etc: EtcFiles;
  /** runc `linux.cgroupsPath`. */
  readonly cgroupsPath: string;
}

export function withDefaultPath(env: readonly string[]): string[] {
  return env.some((e) => e.startsWith('PATH=')) ? [...env] : [`PATH=${DEFAULT_PATH}`, ...env];
}

export function ociSpec(opts: SpecOptions): Record<string, unknown> {
  const req = opts.request;
  const p = req.process;
  const namespaces = [{ type: 'mount' }, { type: 'pid' }, { type: 'ipc' }, { type: 'uts' }];
  if (req.network === 'none') namespaces.push({ type: 'network' });
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    bind('/etc/hosts', opts.etc.hosts, true),
    bind('/etc/resolv.conf', opts.etc.resolvConf, true),
    bind('/etc/hostname', opts.etc.hostname, true),
    ...req.mounts.map(toOciMount),
  ];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: p.uid, gid: p.gid, additionalGids: [...p.additionalGids] },
      args: [...p.args],
      env: withDefaultPath(p.env),
      cwd: p.cwd === '' ? '/' : p.cwd,
      capabilities: {
        bounding: [...DEFAULT_CAPABILITIES],
        effective: [...DEFAULT_CAPABILITIES],
        permitted: [...DEFAULT_CAPABILITIES],
      },
      noNewPrivileges: false,
    },
    root: { path: req.rootfs, readonly: req.readonlyRootfs ?? false },
    hostname: req.hostname,
    mounts,
    linux: {
      namespaces,
      cgroupsPath: opts.cgroupsPath,
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}

function bind(dest: string, source: string, readonly: boolean): OciMount {
  return {
    destination: dest,
    type: 'bind',
    source,
    options: ['rbind', readonly ? 'ro' : 'rw', 'nosuid', 'nodev'],
  };
}

function toOciMount(m: ExecMount): OciMount {
  switch (m.kind) {
    case 'bind':
      return {
        destination: m.dest,
        type: 'bind',
        source: m.source,
        options: ['rbind', m.readonly ? 'ro' : 'rw'],
      };
    case 'tmpfs': {
      const options = ['nosuid', 'nodev', 'mode=1777'];
      if (m.sizeBytes !== undefined && m.sizeBytes > 0) options.push(`size=${m.sizeBytes}`);
      return { destination: m.dest, type: 'tmpfs', source: 'tmpfs', options };
    }
    case 'socket':
      return { destination: m.dest, type: 'bind', source: m.source, options: ['bind', 'rw'] };
    default: {
      const never: never = m;
      throw new Error(`unknown mount ${JSON.stringify(never)}`);
    }
  }
}
