import { describe, expect, it } from 'vitest';
import { dumpDefinition } from '../../client/llb/dump.js';
import { marshal } from '../../client/llb/marshal.js';
import { type ConvertOptions, convertDockerfile } from '../../frontends/dockerfile/convert/convert.js';
import { parseNamedContexts } from '../../frontends/dockerfile/convert/named-contexts.js';
import { parseDockerfile } from '../../frontends/dockerfile/parser/parser.js';
import { KilnError } from '../../proto/errors.js';
import { fakeResolver } from '../dockerfile-convert/fake-images.js';

interface OpDump {
  source?: { identifier: string; attrs?: Record<string, string> };
  exec?: {
    meta: { args: string[]; env?: string[]; proxy_env?: Record<string, string>; extraHosts?: unknown[] };
  };
  file?: unknown;
  merge?: unknown;
}
interface Dumped {
  digest: string;
  op: OpDump;
  metadata?: { ignore_cache?: boolean; description?: Record<string, string> };
}

async function convert(source: string, extra: Partial<ConvertOptions> = {}) {
  const ast = parseDockerfile(source, { file: 'Dockerfile' });
  const result = await convertDockerfile(ast, {
    file: 'Dockerfile',
    sessionId: 'test-session',
    resolveImage: fakeResolver(),
    ...extra,
  });
  const ops = dumpDefinition(marshal(result.state)) as unknown as Dumped[];
  return { result, ops, env: result.image.config.Env ?? [] };
}

const execs = (ops: Dumped[]) => ops.filter((o) => o.op.exec);
const names = (ops: Dumped[]) => ops.map((o) => o.metadata?.description?.['llb.customname'] ?? '');

describe('ARG and ENV', () => {
  it('global ARGs feed FROM and a re-declared ARG in a stage; build-args override both', async () => {
    const df = 'ARG BASE=alpine:3.18\nARG X=glob\nFROM ${BASE}\nARG X\nENV Y=$X\n';
    const a = await convert(df);
    expect(a.ops[0]?.op.source?.identifier).toMatch(/^docker-image:\/\/docker\.io\/library\/alpine:3\.18@/);
    expect(a.env).toContain('Y=glob');
    const b = await convert(df, { buildArgs: { X: 'cli', BASE: 'busybox' } });
    expect(b.ops[0]?.op.source?.identifier).toMatch(/busybox:latest@/);
    expect(b.env).toContain('Y=cli');
  });

  it('a global ARG is not in scope inside a stage unless re-declared', async () => {
    const { env } = await convert('ARG X=glob\nFROM scratch\nENV Y=${X:-unset}\n');
    expect(env).toContain('Y=unset');
  });

  it('ARG defaults expand earlier ARGs; ENV a=1 b=$a reads the old a', async () => {
    const { env } = await convert('FROM scratch\nARG A=1\nARG B=${A}2\nENV a=0\nENV a=1 b=$a c=$B\n');
    expect(env).toEqual(expect.arrayContaining(['a=1', 'b=0', 'c=12']));
  });

  it('ARGs are scoped per stage', async () => {
    const { env } = await convert('FROM scratch AS one\nARG V=one\nFROM scratch\nENV V=${V:-none}\n');
    expect(env).toContain('V=none');
  });

  it('platform args: global in FROM, and via ARG in a stage', async () => {
    const { env } = await convert(
      'ARG ARCH=${TARGETARCH}\nFROM --platform=$BUILDPLATFORM scratch\nARG ARCH\nENV A=$ARCH\nARG TARGETARCH\nARG TARGETPLATFORM\nARG BUILDOS\nARG TARGETVARIANT\nENV T=$TARGETARCH P=$TARGETPLATFORM B=$BUILDOS V=x${TARGETVARIANT}x N=${BUILDARCH:-unset}\n',
    );
    expect(env).toEqual(expect.arrayContaining(['T=amd64', 'P=linux/amd64', 'B=linux', 'V=xx', 'N=unset']));
    expect(env).toContain('A=amd64');
  });

  it('proxy build-args go to proxy_env only: not env, not history', async () => {
    const { ops, result } = await convert('FROM alpine:3.18\nARG A=1\nRUN echo hi\n', {
      buildArgs: { HTTP_PROXY: 'http://proxy:3128', https_proxy: 'http://p2' },
    });
    const run = execs(ops)[0]?.op.exec?.meta;
    expect(run?.proxy_env).toEqual({ http_proxy: 'http://proxy:3128', https_proxy: 'http://p2' });
    expect(run?.env?.join(' ')).not.toMatch(/proxy/i);
    const history = result.image.history.map((h) => h.created_by ?? '').join('\n');
    expect(history).not.toMatch(/proxy/i);
    expect(history).toContain('RUN |1 A=1 /bin/sh -c echo hi');
  });

  it('a changed proxy build-arg leaves the op digest alone (outside the cache key? digest only carries it)', async () => {
    const a = await convert('FROM alpine:3.18\nRUN echo hi\n', { buildArgs: { HTTP_PROXY: 'http://a' } });
    const b = await convert('FROM alpine:3.18\nRUN echo hi\n', { buildArgs: { HTTP_PROXY: 'http://b' } });
    // The ops differ only in Meta.proxy_env, which the solver leaves out of the cache key.
    const strip = (d: Dumped[]) =>
      JSON.stringify(execs(d).map((o) => ({ ...o.op.exec?.meta, proxy_env: undefined })));
    expect(strip(a.ops)).toBe(strip(b.ops));
  });
});

describe('stages and targets', () => {
  const df =
    'FROM alpine:3.18 AS base\nRUN echo base\nFROM base AS unused\nRUN echo unused\nFROM base AS app\nRUN echo app\nFROM scratch AS last\nCOPY --from=app /x /x\n';

  it('builds only the stages the target needs', async () => {
    const { ops } = await convert(df);
    const runs = execs(ops).map((o) => o.op.exec?.meta.args.at(-1));
    expect(runs.sort()).toEqual(['echo app', 'echo base']);
    const t = await convert(df, { target: 'base' });
    expect(execs(t.ops).map((o) => o.op.exec?.meta.args.at(-1))).toEqual(['echo base']);
  });

  it('an unknown target is a clear error', async () => {
    await expect(convert(df, { target: 'nope' })).rejects.toThrow(/target stage "nope" could not be found/);
  });

  it('COPY --from a stage by index', async () => {
    const { ops } = await convert('FROM alpine:3.18\nRUN echo zero\nFROM scratch\nCOPY --from=0 /x /x\n');
    expect(execs(ops).map((o) => o.op.exec?.meta.args.at(-1))).toEqual(['echo zero']);
  });
});

describe('named contexts', () => {
  const contexts = (o: Record<string, string>) => parseNamedContexts(o);

  it('docker-image:// replaces a FROM image and a COPY --from image', async () => {
    const { ops, env } = await convert('FROM base\nCOPY --from=tools /bin/x /x\n', {
      namedContexts: contexts({
        'context:base': 'docker-image://registry.example.com/team/base:1',
        'context:tools': 'docker-image://busybox',
      }),
    });
    const sources = ops.filter((o) => o.op.source).map((o) => o.op.source?.identifier);
    expect(sources).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^docker-image:\/\/registry\.example\.com\/team\/base:1@sha256:/),
        expect.stringMatching(/^docker-image:\/\/docker\.io\/library\/busybox:latest@sha256:/),
      ]),
    );
    expect(names(ops)).toEqual(expect.arrayContaining(['[context base] registry.example.com/team/base:1']));
    expect(env).toContain('APP_HOME=/srv/app');
  });

  it('a context named like an image reference matches its familiar name', async () => {
    const { ops } = await convert('FROM docker.io/library/alpine:latest\nRUN true\n', {
      namedContexts: contexts({ 'context:alpine': 'docker-image://alpine:3.18' }),
    });
    expect(ops[0]?.op.source?.identifier).toMatch(/alpine:3\.18@/);
  });

  it('local:<name> reads the local with its own .dockerignore; target:<stage> aliases a stage', async () => {
    const loaded: string[] = [];
    const { ops } = await convert(
      'FROM alpine:3.18 AS builder\nRUN echo build\nFROM scratch\nCOPY --from=assets / /assets/\nCOPY --from=built /out /out\n',
      {
        namedContexts: contexts({ 'context:assets': 'local:assetdir', 'context:built': 'target:builder' }),
        loadContextExcludes: async ({ key, localName }) => {
          loaded.push(`${key}=${localName}`);
          return ['*.tmp', '!keep.tmp'];
        },
      },
    );
    expect(loaded).toEqual(['assets=assetdir']);
    const local = ops.find((o) => o.op.source?.identifier === 'local://assetdir');
    expect(local?.op.source?.attrs).toEqual({
      'local.excludepatterns': '["*.tmp","!keep.tmp"]',
      'local.session': 'test-session',
      'local.sharedkeyhint': 'context:assets-',
    });
    expect(execs(ops).map((o) => o.op.exec?.meta.args.at(-1))).toEqual(['echo build']);
  });

  it('a context named like a stage replaces the stage', async () => {
    const { ops } = await convert('FROM alpine:3.18 AS deps\nRUN echo slow\nFROM deps\nRUN echo app\n', {
      namedContexts: contexts({ 'context:deps': 'docker-image://busybox' }),
    });
    expect(execs(ops).map((o) => o.op.exec?.meta.args.at(-1))).toEqual(['echo app']);
    expect(ops[0]?.op.source?.identifier).toMatch(/busybox/);
  });

  it('refuses malformed and unknown context sources', () => {
    expect(() => contexts({ 'context:x': 'nope' })).toThrow(/invalid context specifier nope for x/);
    expect(() => contexts({ 'context:x': 'ftp://a' })).toThrow(/unsupported context source ftp for x/);
    expect(() => contexts({ 'context:x': 'git://example.com/r.git' })).toThrow(KilnError);
  });

  it('golden LLB with all three kinds', async () => {
    const { result } = await convert(
      'FROM alpine:3.18 AS builder\nRUN echo build > /out\nFROM base\nCOPY --from=assets / /assets/\nCOPY --from=built /out /out\n',
      {
        namedContexts: contexts({
          'context:base': 'docker-image://busybox',
          'context:assets': 'local:assetdir',
          'context:built': 'target:builder',
        }),
        loadContextExcludes: async () => ['!keep'],
      },
    );
    const dump = dumpDefinition(marshal(result.state));
    await expect(`${JSON.stringify(dump, null, 2)}\n`).toMatchFileSnapshot(
      '../fixtures/dockerfile/semantics/named-contexts.llb.json',
    );
  });
});

describe('options', () => {
  it('no-cache=<stage> marks only that stage’s ops; empty marks all', async () => {
    const df =
      'FROM alpine:3.18 AS one\nRUN echo one\nFROM alpine:3.18 AS two\nCOPY --from=one /x /x\nRUN echo two\n';
    const some = await convert(df, { noCache: ['one'] });
    const ignored = (ops: Dumped[]) =>
      execs(ops)
        .filter((o) => o.metadata?.ignore_cache)
        .map((o) => o.op.exec?.meta.args.at(-1));
    expect(ignored(some.ops)).toEqual(['echo one']);
    const all = await convert(df, { noCache: [] });
    expect(ignored(all.ops).sort()).toEqual(['echo one', 'echo two']);
    const none = await convert(df);
    expect(ignored(none.ops)).toEqual([]);
  });

  it('label opts go to the final image; add-hosts to every RUN', async () => {
    const { result, ops } = await convert('FROM alpine:3.18\nLABEL a=1\nRUN cat /etc/hosts\n', {
      labels: { b: '2' },
      extraHosts: [{ host: 'myhost', ip: '10.1.2.3' }],
    });
    expect(result.image.config.Labels).toEqual({ a: '1', b: '2' });
    expect(execs(ops)[0]?.op.exec?.meta.extraHosts).toEqual([{ Host: 'myhost', IP: '10.1.2.3' }]);
  });
});

describe('outline', () => {
  it('reports used args (globals via FROM and deps), secrets and ssh of the target and its deps', async () => {
    const df = [
      '# syntax=docker/dockerfile:1',
      'ARG UNUSED=1',
      '# VERSION base image version',
      'ARG VERSION=3.18',
      'ARG IMG=alpine:${VERSION}',
      'FROM ${IMG} AS base',
      '# MODE the mode',
      'ARG MODE=dev',
      'RUN --mount=type=secret,id=tok,required=true --mount=type=ssh true',
      '',
      '# app the app',
      'FROM scratch AS app',
      'ARG OTHER',
      'COPY --from=base / /',
      '',
    ].join('\n');
    const { result } = await convert(df);
    expect(result.outline.name).toBe('app');
    expect(result.outline.description).toBe('the app');
    expect(result.outline.args.map((a) => [a.Name, a.Value, a.Description])).toEqual([
      ['VERSION', '3.18', 'base image version'],
      ['IMG', 'alpine:3.18', ''],
      ['MODE', 'dev', 'the mode'],
      ['OTHER', '', ''],
    ]);
    expect(result.outline.args[0]?.Location).toEqual({ ranges: [{ start: { line: 4 }, end: { line: 4 } }] });
    expect(result.outline.secrets).toEqual([
      { Name: 'tok', Required: true, Location: { ranges: [{ start: { line: 9 }, end: { line: 9 } }] } },
    ]);
    expect(result.outline.ssh.map((s) => [s.Name, s.Required])).toEqual([['default', false]]);
  });
});
