import { describe, expect, it } from 'vitest';
import { dumpDefinition } from '../../client/llb/dump.js';
import { marshal } from '../../client/llb/marshal.js';
import { convertDockerfile } from '../../frontends/dockerfile/convert/convert.js';
import { httpFilename, parseGitRef } from '../../frontends/dockerfile/convert/add-sources.js';
import { parseDockerfile } from '../../frontends/dockerfile/parser/parser.js';
import { fakeResolver } from '../dockerfile-convert/fake-images.js';

async function convert(source: string) {
  const ast = parseDockerfile(source, { file: 'Dockerfile' });
  const result = await convertDockerfile(ast, {
    file: 'Dockerfile',
    sessionId: 's',
    resolveImage: fakeResolver(),
  });
  return dumpDefinition(marshal(result.state));
}

describe('ADD lowering', () => {
  it('tells git URLs, http URLs and context paths apart', () => {
    expect(parseGitRef('git://h/r.git#v1:sub')).toEqual({
      remote: 'git://h/r.git',
      ref: 'v1',
      subdir: 'sub',
    });
    expect(parseGitRef('git@github.com:o/r.git')).toEqual({
      remote: 'git@github.com:o/r.git',
      ref: '',
      subdir: '',
    });
    expect(parseGitRef('https://h/r.git#main')).toMatchObject({ remote: 'https://h/r.git', ref: 'main' });
    expect(parseGitRef('https://h/file.tar.gz')).toBeUndefined();
    expect(parseGitRef('repo.git')).toBeUndefined();
    expect(parseGitRef('./x.git')).toBeUndefined();
    expect(httpFilename('https://h/a/b.txt?q=1')).toBe('b.txt');
    expect(httpFilename('https://h/dir/')).toBe('dir');
    expect(httpFilename('https://h')).toBe('__unnamed__');
  });

  it('remote sources never unpack; local sources do', async () => {
    const ops = await convert('FROM scratch\nADD a.tar https://h/b.tar /d/\n');
    const copies = ops.flatMap((o) => {
      const file = (
        o.op as {
          file?: { actions: { copy?: { src: string; attemptUnpackDockerCompatibility?: boolean } }[] };
        }
      ).file;
      return file ? file.actions.map((a) => a.copy) : [];
    });
    expect(copies).toEqual([
      expect.objectContaining({ src: '/a.tar', attemptUnpackDockerCompatibility: true }),
      expect.objectContaining({ src: '/b.tar' }),
    ]);
    expect(copies[1]).not.toHaveProperty('attemptUnpackDockerCompatibility');
  });

  it('--checksum: one http(s) or git source, well formed', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    await expect(convert(`FROM scratch\nADD --checksum=${digest} a b /d/\n`)).rejects.toThrow(
      "checksum can't be specified for multiple sources",
    );
    await expect(convert(`FROM scratch\nADD --checksum=${digest} local.txt /d/\n`)).rejects.toMatchObject({
      message: "checksum can't be specified for non-HTTP(S) or non-git sources",
      location: { line: 2 },
    });
    await expect(convert('FROM scratch\nADD --checksum=md5:abc https://h/x /d/\n')).rejects.toThrow(
      'invalid checksum digest format: md5:abc',
    );
    await expect(convert('FROM scratch\nADD --checksum=notacommit git://h/r.git /d/\n')).rejects.toThrow(
      /want a commit id/,
    );
    const ops = await convert(`FROM scratch\nARG SUM=${digest}\nADD --checksum=\${SUM} https://h/x /d/\n`);
    expect(JSON.stringify(ops)).toContain(`"http.checksum":"${digest}"`);
  });
});
