import { execFileSync } from 'node:child_process';
import { chmod, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseSymbolicMode } from '../../worker/fs/symbolic-mode.js';

const cases: [string, number, boolean][] = [
  ['u+x,go-r', 0o644, false],
  ['a=r', 0o755, false],
  ['go+w', 0o600, false],
  ['u=rwX,g=rX,o=', 0o640, false],
  ['u=rwX,g=rX,o=', 0o750, true],
  ['a+X', 0o644, false],
  ['a+X', 0o744, false],
  ['+x', 0o600, false],
  ['o-rwx,g+s', 0o775, true],
  ['u-w,a+t', 0o755, true],
  ['0750', 0o644, false],
];

describe('symbolic --chmod', () => {
  test.each(cases)('%s on %o (dir: %s) matches chmod(1)', async (spec, start, isDir) => {
    const dir = path.join(os.tmpdir(), `kiln-chmod-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const target = isDir ? path.join(dir, 'd') : path.join(dir, 'f');
    await mkdir(dir, { recursive: true });
    try {
      if (isDir) await mkdir(target);
      else await writeFile(target, '');
      await chmod(target, start);
      execFileSync('chmod', [spec, target]);
      const expected = (await stat(target)).mode & 0o7777;
      expect(parseSymbolicMode(spec)(start, isDir).toString(8)).toBe(expected.toString(8));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a bad clause is a clear error', () => {
    expect(() => parseSymbolicMode('u+q')).toThrow(/invalid chmod "u\+q": bad clause "u\+q"/);
  });
});
