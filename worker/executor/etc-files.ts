import { readFile } from 'node:fs/promises';
import { isErrno } from '../fs/root-path.js';

/**
 * The small files every container gets from the executor (BuildKit executor/oci/hosts.go,
 * resolvconf.go): they are bind-mounted, never written into the rootfs.
 */

export function hostsFile(hostname: string, extraHosts: readonly { host: string; ip: string }[]): string {
  const lines = [
    `127.0.0.1\tlocalhost ${hostname}`,
    '::1\tlocalhost ip6-localhost ip6-loopback',
    ...extraHosts.map((h) => `${h.ip}\t${h.host}`),
  ];
  return `${lines.join('\n')}\n`;
}

const DEFAULT_NAMESERVERS = ['8.8.8.8', '8.8.4.4', '2001:4860:4860::8888', '2001:4860:4860::8844'];

/**
 * The host's resolv.conf without loopback resolvers (systemd-resolved's 127.0.0.53 is unreachable
 * from a network namespace); Google DNS when nothing usable is left, as Docker does.
 */
export async function resolvConf(network: 'host' | 'none', hostPath = '/etc/resolv.conf'): Promise<string> {
  let text = '';
  try {
    text = await readFile(hostPath, 'utf8');
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  if (network === 'host' && text !== '') return text;
  const kept: string[] = [];
  let nameservers = 0;
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m) {
      const ip = m[1] as string;
      if (ip.startsWith('127.') || ip === '::1') continue;
      nameservers++;
    }
    if (line.trim() !== '') kept.push(line);
  }
  if (nameservers === 0) kept.push(...DEFAULT_NAMESERVERS.map((ip) => `nameserver ${ip}`));
  return `${kept.join('\n')}\n`;
}
