import { createHash } from 'node:crypto';
import type { Platform } from '../../client/llb/platform.js';
import type { ImageConfigResolver } from '../../frontends/dockerfile/convert/convert.js';
import { NotFoundError } from '../../proto/errors.js';

/** Image configs as a registry would return them (normalized ref → config JSON). */
export const fakeImageConfigs: Readonly<Record<string, unknown>> = {
  'docker.io/library/alpine:3.18': {
    architecture: 'amd64',
    os: 'linux',
    created: '2023-08-07T19:20:20.894140623Z',
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['/bin/sh'],
      Hostname: 'ignored',
    },
    rootfs: { type: 'layers', diff_ids: ['sha256:' + 'a'.repeat(64)] },
    history: [
      {
        created: '2023-08-07T19:20:20.71894984Z',
        created_by:
          '/bin/sh -c #(nop) ADD file:32ff5e7a78b890996ee4681cc0a26185d3e9acdb4eb1e2aaccb2411f922fed6b in / ',
      },
      {
        created: '2023-08-07T19:20:20.894140623Z',
        created_by: '/bin/sh -c #(nop)  CMD ["/bin/sh"]',
        empty_layer: true,
      },
    ],
  },
  'docker.io/library/busybox:latest': {
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: ['sha256:' + 'b'.repeat(64)] },
    history: [{ created_by: 'BusyBox 1.36.1 (glibc), Debian 12' }],
  },
  'registry.example.com/team/base:1': {
    architecture: 'amd64',
    os: 'linux',
    author: 'Base Team',
    config: {
      User: 'app',
      ExposedPorts: { '8080/tcp': {} },
      Env: ['PATH=/opt/bin:/usr/bin:/bin', 'APP_HOME=/srv/app'],
      Entrypoint: ['/entry.sh'],
      Cmd: ['serve'],
      Volumes: { '/data': {} },
      WorkingDir: '/srv/app',
      Labels: { 'org.example.base': 'yes' },
      StopSignal: 'SIGQUIT',
      Healthcheck: { Test: ['CMD', '/health'], Interval: 30000000000, Retries: 2 },
      OnBuild: ['COPY onbuild.txt /onbuild.txt'],
      Shell: ['/bin/bash', '-c'],
    },
    rootfs: { type: 'layers', diff_ids: ['sha256:' + 'c'.repeat(64), 'sha256:' + 'd'.repeat(64)] },
    history: [{ created_by: 'base layer 1' }, { created_by: 'base layer 2' }],
  },
  'registry.example.com/empty:1': {
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['FOO=bar'] },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [{ created_by: 'LABEL x=y', empty_layer: true }],
  },
};

/** A fixed, reproducible manifest digest per (ref, platform). */
export function fakeDigest(ref: string, platform: Platform): string {
  const p = `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}`;
  return `sha256:${createHash('sha256').update(`${ref} ${p}`).digest('hex')}`;
}

/** Resolves from `fakeImageConfigs`, counting calls; unknown refs are NotFound like a registry. */
export function fakeResolver(calls: string[] = []): ImageConfigResolver {
  return (ref, opts) => {
    calls.push(`${ref} ${opts.platform.os}/${opts.platform.architecture} ${opts.resolveMode}`);
    const config = fakeImageConfigs[ref];
    if (config === undefined) {
      return Promise.reject(new NotFoundError(`${ref}: not found`));
    }
    return Promise.resolve({
      digest: fakeDigest(ref, opts.platform),
      config: new TextEncoder().encode(JSON.stringify(config)),
    });
  };
}
