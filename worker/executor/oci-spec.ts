import { readFileSync } from 'node:fs';
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

/** Capabilities by bit number (linux/capability.h). */
const ALL_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

/**
 * What a privileged (`--security=insecure`) step gets, as `docker run --privileged`: every
 * capability the daemon itself may hold (its bounding set), since runc cannot grant more.
 */
function privilegedCapabilities(): readonly string[] {
  const status = readFileSync('/proc/self/status', 'utf8');
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  const bounding = hex === undefined ? 0n : BigInt(`0x${hex}`);
  return ALL_CAPABILITIES.filter((_, bit) => (bounding >> BigInt(bit)) & 1n);
}

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
  const caps = req.privileged ? privilegedCapabilities() : DEFAULT_CAPABILITIES;
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
    {
      destination: '/sys',
      type: 'sysfs',
      source: 'sysfs',
      options: req.privileged ? ['nosuid', 'noexec', 'nodev'] : ['nosuid', 'noexec', 'nodev', 'ro'],
    },
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
        bounding: [...caps],
        effective: [...caps],
        permitted: [...caps],
      },
      noNewPrivileges: false,
    },
    root: { path: req.rootfs, readonly: req.readonlyRootfs ?? false },
    hostname: req.hostname,
    mounts,
    linux: {
      namespaces,
      cgroupsPath: opts.cgroupsPath,
      resources: { devices: [{ allow: req.privileged === true, access: 'rwm' }] },
      maskedPaths: req.privileged ? [] : MASKED_PATHS,
      readonlyPaths: req.privileged ? [] : READONLY_PATHS,
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
