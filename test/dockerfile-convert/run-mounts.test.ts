import { describe, expect, it } from 'vitest';
import {
  parseCsvRecord,
  parseRamBytes,
  parseRunMount,
} from '../../frontends/dockerfile/convert/run-mounts.js';

const noExpand = (w: string) => w;

describe('RUN --mount parsing (instructions/commands_runmount.go)', () => {
  it('splits CSV like Go encoding/csv, with quoted fields', () => {
    expect(parseCsvRecord('type=bind,source=a,target=b')).toEqual(['type=bind', 'source=a', 'target=b']);
    expect(parseCsvRecord('"target=/a,b",ro')).toEqual(['target=/a,b', 'ro']);
    expect(parseCsvRecord('"x=""q"""')).toEqual(['x="q"']);
    expect(() => parseCsvRecord('a"b')).toThrow('bare " in non-quoted-field');
  });

  it('reads sizes as docker/go-units RAMInBytes', () => {
    expect(parseRamBytes('64m')).toBe(64 * 1024 * 1024);
    expect(parseRamBytes('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseRamBytes('1024')).toBe(1024);
    expect(parseRamBytes('12x')).toBeUndefined();
  });

  it('defaults: bind read-only, cache and tmpfs writable, cache id = clean target, bare flags', () => {
    expect(parseRunMount('target=/src', noExpand)).toMatchObject({ type: 'bind', readOnly: true });
    expect(parseRunMount('type=bind,target=/src,rw', noExpand).readOnly).toBe(false);
    expect(parseRunMount('type=bind,target=/src,readwrite=false', noExpand).readOnly).toBe(true);
    expect(parseRunMount('type=cache,target=/root/.cache/', noExpand)).toMatchObject({
      readOnly: false,
      id: '/root/.cache',
      sharing: '',
    });
    expect(parseRunMount('type=cache,target=a/../b', noExpand).id).toBe('b');
    expect(parseRunMount('type=tmpfs,target=/t,size=1k', noExpand)).toMatchObject({
      readOnly: false,
      size: 1024,
    });
    expect(parseRunMount('type=secret,id=s,required', noExpand)).toMatchObject({ required: true, id: 's' });
    expect(parseRunMount('type=ssh,mode=0644,uid=1', noExpand)).toMatchObject({ mode: 0o644, uid: 1 });
  });

  it('secret env= names the variable, with or without a target; other types refuse it', () => {
    const envOnly = parseRunMount('type=secret,id=tok,env=TOKEN', (w) => w);
    expect([envOnly.type, envOnly.id, envOnly.env, envOnly.target]).toEqual(['secret', 'tok', 'TOKEN', '']);
    const both = parseRunMount('type=secret,id=tok,env=TOKEN,target=/t', (w) => w);
    expect([both.env, both.target]).toEqual(['TOKEN', '/t']);
    expect(() => parseRunMount('type=cache,target=/c,env=X', (w) => w)).toThrow(
      /env not allowed for "cache" type mounts/,
    );
  });

  it('expands values but never from=', () => {
    const env = (w: string) => w.replace('$T', '/expanded');
    expect(parseRunMount('type=cache,target=$T', env).target).toBe('/expanded');
    expect(() => parseRunMount('from=$T,target=/x', env)).toThrow(
      "'from' doesn't support variable expansion",
    );
  });

  it('refuses what BuildKit refuses, with its words', () => {
    const bad: [string, string][] = [
      ['type=weird', 'unsupported mount type "weird"'],
      ['type=cache,sharing=nope,target=/c', 'unsupported sharing value "nope"'],
      ['type=bind,sharing=locked,target=/c', 'invalid cache sharing set for bind mount'],
      ['type=bind,required', "unexpected key 'required' for mount type 'bind'"],
      ['type=cache,size=1m', "unexpected key 'size' for mount type 'cache'"],
      ['type=tmpfs,mode=0700', 'mode not allowed for "tmpfs" type mounts'],
      ['type=cache,uid=x', 'invalid value x for uid'],
      ['type=cache,mode=9', 'invalid value 9 for mode'],
      ['type=secret', 'invalid secret mount. one of source, target required'],
      ['type=secret,from=x,id=a', 'secret mount should not have a from'],
      ['target', "invalid field 'target' must be a key=value pair"],
      ['targt=/x', "unexpected key 'targt' in 'targt=/x' (did you mean target?)"],
      ['type=bind,ro=maybe', 'invalid value for ro: maybe'],
    ];
    for (const [value, message] of bad) expect(() => parseRunMount(value, noExpand), value).toThrow(message);
  });
});
