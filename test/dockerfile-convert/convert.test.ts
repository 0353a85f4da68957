import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dumpDefinition } from '../../client/llb/dump.js';
import { marshal } from '../../client/llb/marshal.js';
import { type ConvertOptions, convertDockerfile } from '../../frontends/dockerfile/convert/convert.js';
import { serializeImageConfig } from '../../frontends/dockerfile/convert/image-config.js';
import { parseDockerfile } from '../../frontends/dockerfile/parser/parser.js';
import { formatError, KilnError, UnimplementedError } from '../../proto/errors.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'dockerfile');
const cases = readdirSync(fixtures)
  .filter((f) => f.endsWith('.Dockerfile'))
  .map((f) => f.slice(0, -'.Dockerfile'.length))
  .sort();

function convert(source: string, extra: Partial<ConvertOptions> = {}) {
  const ast = parseDockerfile(source, { file: 'Dockerfile' });
  return convertDockerfile(ast, { file: 'Dockerfile', sessionId: 'test-session', ...extra });
}

describe('Dockerfile → LLB golden files', () => {
  it.each(cases)('%s', async (name) => {
    const source = readFileSync(path.join(fixtures, `${name}.Dockerfile`), 'utf8');
    const optsFile = path.join(fixtures, `${name}.opts.json`);
    const opts = existsSync(optsFile)
      ? (JSON.parse(readFileSync(optsFile, 'utf8')) as Partial<ConvertOptions>)
      : {};
    const result = convert(source, opts);
    const def = marshal(result.state);
    const dump = {
      contextPaths: result.contextPaths ?? null,
      ops: dumpDefinition(def),
      image: JSON.parse(new TextDecoder().decode(serializeImageConfig(result.image))) as unknown,
    };
    await expect(`${JSON.stringify(dump, null, 2)}\n`).toMatchFileSnapshot(
      `../fixtures/dockerfile/${name}.llb.json`,
    );
    // Converting again gives byte-identical ops.
    const again = marshal(convert(source, opts).state);
    expect(again.def.map((b) => Buffer.from(b).toString('hex'))).toEqual(
      def.def.map((b) => Buffer.from(b).toString('hex')),
    );
  });
});

describe('Dockerfile conversion errors name file, line and instruction', () => {
  const failWith = (source: string, extra: Partial<ConvertOptions> = {}): KilnError => {
    try {
      convert(source, extra);
    } catch (err) {
      if (err instanceof KilnError) return err;
      throw err;
    }
    throw new Error('conversion did not fail');
  };

  it('RUN is not supported yet', () => {
    const err = failWith('FROM scratch\nCOPY a /a\nENV X=1\nRUN echo hi\n');
    expect(err).toBeInstanceOf(UnimplementedError);
    expect(err.message).toBe('Dockerfile:4: RUN is not supported yet (needs the containers feature)');
    expect(err.location).toMatchObject({ file: 'Dockerfile', line: 4, text: 'RUN echo hi' });
    expect(formatError(err)).toContain('4 | RUN echo hi');
  });

  it('FROM <registry image> is not supported yet (only when the stage is needed)', () => {
    const err = failWith('FROM alpine AS a\nCOPY x /x\n');
    expect(err).toBeInstanceOf(UnimplementedError);
    expect(err.message).toMatch(/^Dockerfile:1: FROM alpine: registry images are not supported yet/);
    // An unused image stage does not matter.
    expect(() => convert('FROM alpine AS a\nFROM scratch\nCOPY x /x\n')).not.toThrow();
  });

  it('unknown instruction and bad flag', () => {
    const err = failWith('FROM scratch\n\nFORM x\n');
    expect(err.message).toBe('unknown instruction: FORM (did you mean FROM?)');
    expect(err.location).toMatchObject({ file: 'Dockerfile', line: 3 });
    const flag = failWith('FROM scratch\nCOPY --chwon=1 a /a\n');
    expect(flag.message).toMatch(/^unknown flag: --chwon \(did you mean --chown\?\)/);
    expect(flag.message).toContain('COPY');
    expect(flag.location).toMatchObject({ line: 2 });
  });

  it('unknown target, bad stage references, bad chmod', () => {
    expect(failWith('FROM scratch AS a\n', { target: 'nope' }).message).toBe(
      'target stage "nope" could not be found',
    );
    expect(failWith('FROM scratch\nCOPY --from=5 /a /b\n').message).toBe('invalid stage index 5');
    expect(
      failWith('FROM scratch AS a\nCOPY --from=later /a /b\nFROM scratch AS later\nFROM a\n').message,
    ).toContain('cannot copy from stage "later"');
    expect(failWith('FROM scratch\nCOPY --chmod=999 a /a\n').message).toContain(
      "invalid chmod parameter: '999'",
    );
    expect(failWith('FROM scratch\nCOPY --from=$X a /a\n').message).toContain(
      'variable expansion is not supported for --from',
    );
  });
});
