import { describe, expect, it } from 'vitest';
import { dumpDefinition } from '../../client/llb/dump.js';
import {
  checkPlatformSupported,
  dockerfileFrontend,
  parseExtraHosts,
  parseFrontendOptions,
} from '../../frontends/dockerfile/builder.js';
import { formatTabs } from '../../client/commands/tab-writer.js';
import { FakeBridge } from './fake-bridge.js';

const signal = new AbortController().signal;
const decode = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

const dockerfile = [
  'ARG VERSION=3.18',
  '# base the base stage',
  'FROM alpine:${VERSION} AS base',
  'RUN --mount=type=secret,id=npm true',
  '',
  '# release the image to ship',
  'FROM base AS release',
  '# PORT port to listen on',
  'ARG PORT=8080',
  'FROM scratch',
  '',
].join('\n');

describe('frontend options', () => {
  it('add-hosts: CSV of host=ip, lower-cased; bad pairs and IPs are refused', () => {
    expect(parseExtraHosts('MyHost=10.0.0.1,other=::1')).toEqual([
      { host: 'myhost', ip: '10.0.0.1' },
      { host: 'other', ip: '::1' },
    ]);
    expect(parseExtraHosts('')).toEqual([]);
    expect(() => parseExtraHosts('nohost')).toThrow('invalid key-value pair nohost');
    expect(() => parseExtraHosts('h=999.1.1.1')).toThrow('failed to parse IP 999.1.1.1');
  });

  it('parses named contexts, the request id, and refuses an unknown request id', () => {
    const o = parseFrontendOptions({ 'context:a': 'docker-image://alpine', requestid: 'frontend.outline' });
    expect(o.subrequest).toBe('frontend.outline');
    expect(o.namedContexts.get('a')?.source).toEqual({ kind: 'image', ref: 'alpine' });
    expect(() => parseFrontendOptions({ requestid: 'frontend.nope' })).toThrow(
      'unsupported request frontend.nope',
    );
  });

  it('a platform no worker runs is refused early with the worker list', async () => {
    expect(() =>
      checkPlatformSupported({ os: 'linux', architecture: 'amd64' }, [
        { os: 'linux', architecture: 'amd64' },
      ]),
    ).not.toThrow();
    const bridge = new FakeBridge({ dockerfile: { Dockerfile: 'FROM scratch\n' } });
    await expect(dockerfileFrontend.solve(bridge, { platform: 'linux/arm64' }, signal)).rejects.toThrow(
      'platform linux/arm64 is not supported by this kilnd (worker platforms: linux/amd64)',
    );
    expect(bridge.solves).toEqual([]);
  });
});

describe('subrequests', () => {
  it('frontend.targets lists every stage, the last one default, without building', async () => {
    const bridge = new FakeBridge({ dockerfile: { Dockerfile: dockerfile } });
    const res = await dockerfileFrontend.solve(bridge, { requestid: 'frontend.targets' }, signal);
    expect(res.ref).toBeUndefined();
    const json = JSON.parse(decode(res.metadata['result.json'])) as {
      Targets: Record<string, unknown>[];
      Sources: string[];
    };
    expect(json.Targets).toEqual([
      {
        name: 'base',
        description: 'the base stage',
        base: 'alpine:${VERSION}',
        Location: { ranges: [{ start: { line: 3 }, end: { line: 3 } }] },
      },
      {
        name: 'release',
        description: 'the image to ship',
        base: 'base',
        Location: { ranges: [{ start: { line: 7 }, end: { line: 7 } }] },
      },
      { default: true, base: 'scratch', Location: { ranges: [{ start: { line: 10 }, end: { line: 10 } }] } },
    ]);
    expect(Buffer.from(json.Sources[0] ?? '', 'base64').toString()).toBe(dockerfile);
    expect(decode(res.metadata['result.txt'])).toBe(
      'TARGET    DESCRIPTION\nbase      the base stage\nrelease   the image to ship\n(default) \n',
    );
    // Only the Dockerfile and .dockerignore were loaded: nothing of the build.
    expect(bridge.solves).toHaveLength(2);
    expect(bridge.resolved).toEqual([]);
  });

  it('frontend.outline reports the args, secrets of the target', async () => {
    const bridge = new FakeBridge({ dockerfile: { Dockerfile: dockerfile } });
    const res = await dockerfileFrontend.solve(
      bridge,
      { requestid: 'frontend.outline', target: 'release', 'build-arg:PORT': '9000' },
      signal,
    );
    expect(res.ref).toBeUndefined();
    const json = JSON.parse(decode(res.metadata['result.json'])) as Record<string, unknown>;
    expect(json.name).toBe('release');
    expect(json.description).toBe('the image to ship');
    expect(json.args).toEqual([
      {
        Name: 'VERSION',
        Description: '',
        Value: '3.18',
        Location: { ranges: [{ start: { line: 1 }, end: { line: 1 } }] },
      },
      {
        Name: 'PORT',
        Description: 'port to listen on',
        Value: '9000',
        Location: { ranges: [{ start: { line: 9 }, end: { line: 9 } }] },
      },
    ]);
    expect(json.secrets).toEqual([
      { Name: 'npm', Required: false, Location: { ranges: [{ start: { line: 4 }, end: { line: 4 } }] } },
    ]);
    expect(decode(res.metadata['result.txt'])).toBe(
      [
        'TARGET:      release',
        'DESCRIPTION: the image to ship',
        '',
        'BUILD ARG   VALUE   DESCRIPTION',
        'VERSION     3.18    ',
        'PORT        9000    port to listen on',
        '',
        'SECRET   REQUIRED',
        'npm      ',
        '',
        '',
      ].join('\n'),
    );
    // The base image was resolved (as BuildKit does), but nothing was solved beyond the loads.
    expect(bridge.solves).toHaveLength(2);
    for (const def of bridge.solves) {
      expect(dumpDefinition(def).some((o) => JSON.stringify(o.op).includes('exec'))).toBe(false);
    }
  });

  it('frontend.subrequests.describe lists what is answered', async () => {
    const bridge = new FakeBridge({});
    const res = await dockerfileFrontend.solve(
      bridge,
      { requestid: 'frontend.subrequests.describe' },
      signal,
    );
    const json = JSON.parse(decode(res.metadata['result.json'])) as { name: string; inputs: unknown }[];
    expect(json.map((r) => r.name)).toEqual([
      'frontend.outline',
      'frontend.targets',
      'frontend.subrequests.describe',
    ]);
    expect(json[0]?.inputs).toBeNull();
    expect(decode(res.metadata['result.txt'])).toBe(
      'NAME                 VERSION DESCRIPTION\n' +
        'outline              1.0.0   List all parameters current build takes\n' +
        'targets              1.0.0   List all targets current build supports\n' +
        'subrequests.describe 1.0.0   List available subrequest types\n',
    );
  });

  it('aligns like Go tabwriter with space padding', () => {
    expect(formatTabs('a\tbb\tc\nccc\td\t\n', { padChar: ' ', padding: 1 })).toBe('a   bb c\nccc d  \n');
  });
});
