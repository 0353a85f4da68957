import { describe, expect, it } from 'vitest';
import { convertDockerfile } from '../../frontends/dockerfile/convert/convert.js';
import { parseImageConfig, serializeImageConfig } from '../../frontends/dockerfile/convert/image-config.js';
import { parseDockerfile } from '../../frontends/dockerfile/parser/parser.js';
import { fakeImageConfigs, fakeResolver } from './fake-images.js';

const amd64 = { os: 'linux', architecture: 'amd64' } as const;
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const json = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

async function imageOf(source: string, extra: { buildArgs?: Record<string, string> } = {}) {
  const ast = parseDockerfile(source, { file: 'Dockerfile' });
  const res = await convertDockerfile(ast, { file: 'Dockerfile', resolveImage: fakeResolver(), ...extra });
  return JSON.parse(json(serializeImageConfig(res.image))) as {
    config: Record<string, unknown>;
    history: { created_by: string; empty_layer?: boolean }[];
  };
}

describe('image config (DockerOCIImage as BuildKit writes it)', () => {
  it('reads a registry config: known fields kept, created and unknown fields dropped', () => {
    const img = parseImageConfig(enc(fakeImageConfigs['registry.example.com/team/base:1']), amd64);
    expect(img.config.User).toBe('app');
    expect(img.config.OnBuild).toEqual(['COPY onbuild.txt /onbuild.txt']);
    expect(img.config.Healthcheck).toEqual({ Test: ['CMD', '/health'], Interval: 30000000000, Retries: 2 });
    expect(img.history).toHaveLength(2);
    const alpine = parseImageConfig(enc(fakeImageConfigs['docker.io/library/alpine:3.18']), amd64);
    const out = json(serializeImageConfig(alpine));
    expect(out).not.toContain('Hostname');
    expect(out.startsWith('{"architecture":"amd64","os":"linux","config":{"Env":')).toBe(true);
    expect(out).toContain('"history":[{"created":"2023-08-07T19:20:20.71894984Z","created_by":');
  });

  it('rejects a config that is not JSON, with the reason', () => {
    expect(() => parseImageConfig(new TextEncoder().encode('{oops'), amd64)).toThrow(
      /failed to parse image config/,
    );
  });

  it('writes Go field order, sorted map keys, Healthcheck durations in ns, omitempty', () => {
    const out = json(
      serializeImageConfig({
        architecture: 'arm64',
        os: 'linux',
        variant: 'v8',
        config: {
          ExposedPorts: { '8080/tcp': {}, '443/tcp': {}, '53/udp': {} },
          Labels: { z: '1', a: '2' },
          Cmd: null,
          Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 1.5e9, StartPeriod: 2e9 },
          Env: [],
        },
        rootfs: { type: 'layers', diff_ids: [] },
        history: [],
      }),
    );
    expect(out).toBe(
      '{"architecture":"arm64","os":"linux","variant":"v8","config":{"ExposedPorts":{"443/tcp":{},"53/udp":{},"8080/tcp":{}},' +
        '"Labels":{"a":"2","z":"1"},"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":1500000000,"StartPeriod":2000000000}},' +
        '"rootfs":{"type":"layers","diff_ids":[]}}',
    );
  });

  it('merges a Dockerfile onto its base image config and history', async () => {
    const img = await imageOf(
      'FROM registry.example.com/team/base:1\nARG V=2\nENV PATH=/x:$PATH APP_HOME=/app\n' +
        'RUN echo $V\nEXPOSE 80 ${V}0/udp\nENTRYPOINT ["/e"]\nHEALTHCHECK --interval=1m30s --timeout=500ms CMD true\n',
      { buildArgs: { V: '3' } },
    );
    expect(img.config.Env).toEqual(['PATH=/x:/opt/bin:/usr/bin:/bin', 'APP_HOME=/app']);
    // ENTRYPOINT drops the CMD inherited from the base.
    expect(img.config.Cmd).toBeUndefined();
    expect(img.config.Entrypoint).toEqual(['/e']);
    expect(Object.keys(img.config.ExposedPorts as object)).toEqual(['30/udp', '80/tcp', '8080/tcp']);
    expect(img.config.Healthcheck).toEqual({ Test: ['CMD-SHELL', 'true'], Interval: 90e9, Timeout: 500e6 });
    // The base's ONBUILD triggers ran (COPY) and are gone from the result.
    expect(img.config.OnBuild).toBeUndefined();
    expect(img.history.map((h) => [h.created_by, h.empty_layer ?? false])).toEqual([
      ['base layer 1', false],
      ['base layer 2', false],
      ['COPY onbuild.txt /onbuild.txt # buildkit', false],
      ['ARG V=2', true],
      ['ENV PATH=/x:/opt/bin:/usr/bin:/bin APP_HOME=/app', true],
      ['RUN |1 V=3 /bin/bash -c echo $V # buildkit', false],
      ['EXPOSE map[30/udp:{} 80/tcp:{}]', true],
      ['ENTRYPOINT ["/e"]', true],
      [`HEALTHCHECK &{["CMD-SHELL" "true"] "1m30s" "500ms" "0s" '\\x00'}`, true],
    ]);
  });

  it('an image without layers is scratch (no source op), its config still applies', async () => {
    const ast = parseDockerfile('FROM registry.example.com/empty:1\nENV B=2\n', { file: 'Dockerfile' });
    const res = await convertDockerfile(ast, { file: 'Dockerfile', resolveImage: fakeResolver() });
    expect(res.state.isScratch).toBe(true);
    expect(res.image.config.Env).toEqual([
      'FOO=bar',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'B=2',
    ]);
  });

  it('resolves each distinct image once, with the stage platform and resolve mode', async () => {
    const calls: string[] = [];
    const ast = parseDockerfile(
      'FROM alpine:3.18 AS a\nFROM alpine:3.18 AS b\nFROM --platform=linux/arm64 alpine:3.18 AS c\n' +
        'FROM scratch\nCOPY --from=a / /a\nCOPY --from=b / /b\nCOPY --from=c / /c\n',
      { file: 'Dockerfile' },
    );
    await convertDockerfile(ast, {
      file: 'Dockerfile',
      resolveImage: fakeResolver(calls),
      imageResolveMode: 'local',
    });
    expect(calls.sort()).toEqual([
      'docker.io/library/alpine:3.18 linux/amd64 local',
      'docker.io/library/alpine:3.18 linux/arm64 local',
    ]);
  });
});
