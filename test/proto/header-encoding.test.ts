import { describe, expect, it } from 'vitest';
import {
  decodeMetadataValues,
  encodeMetadataValues,
  queryEscape,
  queryUnescape,
} from '../../proto/header-encoding.js';

describe('BuildKit file-sync metadata encoding', () => {
  it("escapes like Go's url.QueryEscape", () => {
    // Expected values as Go prints them for url.QueryEscape(...).
    expect(queryEscape('a b/ü€,*~_.-')).toBe('a+b%2F%C3%BC%E2%82%AC%2C%2A~_.-');
    expect(queryEscape('日本/**')).toBe('%E6%97%A5%E6%9C%AC%2F%2A%2A');
  });

  it('unescapes what it escapes; a bad escape gives an empty value, as in BuildKit', () => {
    for (const s of ['a b/ü€,*', '日本/**', '100%', '+plus+']) expect(queryUnescape(queryEscape(s))).toBe(s);
    expect(queryUnescape('a+b%2f')).toBe('a b/');
    expect(queryUnescape('ü+x')).toBe('ü x');
    // Go's QueryUnescape fails on these; BuildKit's decodeOpts keeps the empty string.
    expect(queryUnescape('50%')).toBe('');
    expect(queryUnescape('a%zz')).toBe('');
  });

  it('marks a key only when a value has a non-ASCII character, and escapes all its values then', () => {
    expect(encodeMetadataValues('include-patterns', ['a b', 'c'])).toEqual([
      ['include-patterns', ['a b', 'c']],
    ]);
    expect(encodeMetadataValues('include-patterns', ['a b', 'ü'])).toEqual([
      ['include-patterns', ['a+b', '%C3%BC']],
      ['include-patterns-encoded', ['1']],
    ]);
    expect(decodeMetadataValues(['a+b', '%C3%BC'], '1')).toEqual(['a b', 'ü']);
    expect(decodeMetadataValues(['a+b'], 'true')).toEqual(['a b']);
    expect(decodeMetadataValues(['a+b'], undefined)).toEqual(['a+b']);
    expect(decodeMetadataValues(['a+b'], '0')).toEqual(['a+b']);
  });
});
