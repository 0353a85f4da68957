import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFlags } from '../../client/commands/args.js';
import {
  parseAllow,
  parseAttrMap,
  parseExportCache,
  parseImportCache,
  parseOutput,
  parseOutputs,
  parseSecret,
  parseSsh,
} from '../../client/commands/build-options.js';
import { parseCsvRecord } from '../../client/commands/csv.js';
import { formatGoDuration, parseGoDuration } from '../../client/commands/go-duration.js';
import { formatTabs } from '../../client/commands/tab-writer.js';
import { defaultAddress, parseAddress, resolveAddress } from '../../client/connection.js';
import { formatBytes, humanDuration } from '../../client/human-units.js';
import { InvalidArgumentError } from '../../proto/errors.js';

const notTTY = { stdoutIsTTY: false };

describe('CSV', () => {
  it('splits plain and quoted fields like encoding/csv', () => {
    expect(parseCsvRecord('type=local,dest=out')).toEqual(['type=local', 'dest=out']);
    expect(parseCsvRecord('type=image,"name=a/b:1,a/b:2",push=true')).toEqual([
      'type=image',
      'name=a/b:1,a/b:2',
      'push=true',
    ]);
    expect(parseCsvRecord('"a ""quoted"" word"')).toEqual(['a "quoted" word']);
    expect(parseCsvRecord('a,')).toEqual(['a', '']);
    expect(() => parseCsvRecord('name=a"b')).toThrow(/bare "/u);
    expect(() => parseCsvRecord('"unterminated')).toThrow(InvalidArgumentError);
  });
});

describe('--output', () => {
  it('resolves dest client-side and removes it from the exporter attrs', () => {
    expect(parseOutput('type=local,dest=out', notTTY)).toEqual({
      type: 'local',
      attrs: {},
      target: { kind: 'dir', dir: 'out' },
    });
    expect(parseOutput('type=tar,dest=out.tar', notTTY)).toEqual({
      type: 'tar',
      attrs: {},
      target: { kind: 'file', path: 'out.tar' },
    });
    expect(parseOutput('type=oci,dest=img.tar,name=x', notTTY)).toEqual({
      type: 'oci',
      attrs: { name: 'x' },
      target: { kind: 'file', path: 'img.tar' },
    });
    expect(parseOutput('type=docker,tar=false,dest=d', notTTY).target).toEqual({ kind: 'dir', dir: 'd' });
    expect(parseOutput('type=tar,dest=-', notTTY).target).toEqual({ kind: 'stdout' });
    expect(parseOutput('type=image,name=r/x,push=true', notTTY)).toEqual({
      type: 'image',
      attrs: { name: 'r/x', push: 'true' },
      target: { kind: 'none' },
    });
    expect(parseOutput('TYPE=local,DEST=o', notTTY).target).toEqual({ kind: 'dir', dir: 'o' });
  });

  it('rejects what buildctl rejects', () => {
    expect(() => parseOutput('dest=x', notTTY)).toThrow('--output requires type=<type>');
    expect(() => parseOutput('type=local', notTTY)).toThrow(
      'output directory is required for local exporter',
    );
    expect(() => parseOutput('type=local,output=x', notTTY)).toThrow(
      'output=x not supported for --output, you meant dest=x?',
    );
    expect(() => parseOutput('type=image,dest=x', notTTY)).toThrow(
      'output x is not supported by image exporter',
    );
    expect(() => parseOutput('type=tar', { stdoutIsTTY: true })).toThrow(/refusing to write to console/u);
    expect(() => parseOutput('type=local,novalue', notTTY)).toThrow('invalid value novalue');
    expect(() => parseOutputs(['type=local,dest=a', 'type=tar,dest=b'], notTTY)).toThrow(/single/u);
    expect(parseOutputs([], notTTY)).toBeUndefined();
  });

  it('refuses a directory as a tarball destination', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kilnctl-out-'));
    try {
      expect(() => parseOutput(`type=tar,dest=${dir}`, notTTY)).toThrow(/is a directory/u);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe('cache, secret, ssh, allow, opt', () => {
  it('parses cache entries with buildctl defaults', () => {
    expect(parseExportCache(['type=registry,ref=r/c'])).toEqual([
      { type: 'registry', attrs: { ref: 'r/c', mode: 'min' } },
    ]);
    expect(parseExportCache(['type=local,dest=d,mode=max'])).toEqual([
      { type: 'local', attrs: { dest: 'd', mode: 'max' } },
    ]);
    expect(parseExportCache(['example.com/cache'])).toEqual([
      { type: 'registry', attrs: { ref: 'example.com/cache' } },
    ]);
    expect(parseImportCache(['type=local,src=d'])).toEqual([{ type: 'local', attrs: { src: 'd' } }]);
    expect(parseImportCache(['r/c:tag'])).toEqual([{ type: 'registry', attrs: { ref: 'r/c:tag' } }]);
    expect(parseExportCache(['type=gha'], { ACTIONS_CACHE_URL: 'u', ACTIONS_RUNTIME_TOKEN: 't' })).toEqual([
      { type: 'gha', attrs: { mode: 'min', url: 'u', token: 't' } },
    ]);
    expect(() => parseExportCache(['mode=max,type='])).toThrow('--export-cache requires type=<type>');
  });

  it('parses secrets, ssh and entitlements', () => {
    expect(parseSecret('id=tok,src=/run/tok')).toEqual({ id: 'tok', filePath: '/run/tok' });
    expect(parseSecret('id=tok,env=TOKEN')).toEqual({ id: 'tok', env: 'TOKEN' });
    expect(parseSecret('id=tok,type=env,src=TOKEN')).toEqual({ id: 'tok', env: 'TOKEN' });
    expect(parseSecret('id=HOME', { HOME: '/root' })).toEqual({ id: 'HOME', env: 'HOME' });
    expect(() => parseSecret('id=a,type=socket')).toThrow('unsupported secret type "socket"');
    expect(() => parseSecret('id=a,foo=b')).toThrow("unexpected key 'foo' in 'foo=b'");
    expect(parseSsh('default')).toEqual({ id: 'default', paths: [] });
    expect(parseSsh('gh=/a/key,/b/key')).toEqual({ id: 'gh', paths: ['/a/key', '/b/key'] });
    expect(parseAllow(['network.host', 'security.insecure'])).toEqual(['network.host', 'security.insecure']);
    expect(() => parseAllow(['root'])).toThrow('unknown entitlement root');
    expect(parseAttrMap(['build-arg:A=1=2', 'target=t'])).toEqual({ 'build-arg:A': '1=2', target: 't' });
  });
});

describe('flags', () => {
  it('parses repeatable, inline, short and boolean flags', () => {
    const p = parseFlags(
      [
        '--local',
        'context=.',
        '--local=dockerfile=.',
        '-o',
        'type=local,dest=x',
        '--no-cache',
        '--progress=plain',
        'pos',
        '--debug=false',
      ],
      [
        { name: 'local', kind: 'strings', usage: '' },
        { name: 'output', aliases: ['o'], kind: 'strings', usage: '' },
        { name: 'no-cache', kind: 'bool', usage: '' },
        { name: 'progress', kind: 'string', usage: '' },
        { name: 'debug', kind: 'bool', usage: '' },
      ],
    );
    expect(p.lists.get('local')).toEqual(['context=.', 'dockerfile=.']);
    expect(p.lists.get('output')).toEqual(['type=local,dest=x']);
    expect(p.bools.get('no-cache')).toBe(true);
    expect(p.bools.get('debug')).toBe(false);
    expect(p.strings.get('progress')).toBe('plain');
    expect(p.positionals).toEqual(['pos']);
    expect(() => parseFlags(['--nope'], [])).toThrow('flag provided but not defined: -nope');
    expect(() => parseFlags(['--progress'], [{ name: 'progress', kind: 'string', usage: '' }])).toThrow(
      /needs an argument/u,
    );
  });
});

describe('Go durations', () => {
  it('parses time.ParseDuration syntax into nanoseconds', () => {
    expect(parseGoDuration('24h')).toBe(86_400e9);
    expect(parseGoDuration('1h30m')).toBe(5_400e9);
    expect(parseGoDuration('1.5h')).toBe(5_400e9);
    expect(parseGoDuration('300ms')).toBe(300e6);
    expect(parseGoDuration('2us')).toBe(2_000);
    expect(parseGoDuration('-1m')).toBe(-60e9);
    expect(parseGoDuration('0')).toBe(0);
    expect(() => parseGoDuration('10')).toThrow(/invalid duration/u);
    expect(() => parseGoDuration('3d')).toThrow('time: unknown unit "d" in duration "3d"');
    expect(() => parseGoDuration('')).toThrow(InvalidArgumentError);
  });
  it('formats like Duration.String', () => {
    expect(formatGoDuration(48 * 3600e9)).toBe('48h0m0s');
    expect(formatGoDuration(90e9)).toBe('1m30s');
    expect(formatGoDuration(1.5e9)).toBe('1.5s');
    expect(formatGoDuration(300e6)).toBe('300ms');
    expect(formatGoDuration(0)).toBe('0s');
  });
});

describe('daemon address', () => {
  it('prefers --addr, then BUILDKIT_HOST, then the default socket', () => {
    expect(resolveAddress('tcp://h:1234', { BUILDKIT_HOST: 'unix:///x.sock' })).toBe('tcp://h:1234');
    expect(resolveAddress(undefined, { BUILDKIT_HOST: 'unix:///x.sock' })).toBe('unix:///x.sock');
    expect(resolveAddress('', {})).toBe(defaultAddress);
    expect(defaultAddress).toBe('unix:///run/kiln/kilnd.sock');
  });
  it('parses unix and tcp addresses', () => {
    expect(parseAddress('unix:///run/kiln/kilnd.sock')).toEqual({
      scheme: 'unix',
      path: '/run/kiln/kilnd.sock',
      url: 'unix:///run/kiln/kilnd.sock',
    });
    expect(parseAddress('tcp://127.0.0.1:1234')).toEqual({
      scheme: 'tcp',
      host: '127.0.0.1',
      port: 1234,
      url: 'tcp://127.0.0.1:1234',
    });
    expect(parseAddress('tcp://[::1]:99')).toMatchObject({ host: '[::1]', port: 99 });
    expect(() => parseAddress('docker-container://b')).toThrow(
      /unsupported daemon address scheme "docker-container"/u,
    );
    expect(() => parseAddress('tcp://nohost')).toThrow(InvalidArgumentError);
    expect(() => parseAddress('/run/kilnd.sock')).toThrow(InvalidArgumentError);
  });
});

describe('human units and tables', () => {
  it('formats sizes and ages like buildctl', () => {
    expect(formatBytes(93)).toBe('93B');
    expect(formatBytes(2100)).toBe('2.10kB');
    expect(formatBytes(3_370_000)).toBe('3.37MB');
    expect(humanDuration(500)).toBe('Less than a second');
    expect(humanDuration(90_000)).toBe('About a minute');
    expect(humanDuration(3 * 3600_000)).toBe('3 hours');
    expect(humanDuration(20 * 86_400_000)).toBe('2 weeks');
  });
  it('aligns tab-separated cells like text/tabwriter with tab padding', () => {
    expect(formatTabs('ID\tPLATFORMS\nworker-abc\tlinux/amd64\n')).toBe(
      'ID\t\tPLATFORMS\nworker-abc\tlinux/amd64\n',
    );
    expect(formatTabs('Reclaimable:\t1B\nTotal:\t2B\n')).toBe('Reclaimable:\t1B\nTotal:\t\t2B\n');
  });
});
