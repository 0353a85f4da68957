import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dumpDefinition } from '../../client/llb/dump.js';
import { marshal } from '../../client/llb/marshal.js';
import { type ConvertOptions, convertDockerfile } from '../../frontends/dockerfile/convert/convert.js';
import { serializeImageConfig } from '../../frontends/dockerfile/convert/image-config.js';
import { parseDockerfile } from '../../frontends/dockerfile/parser/parser.js';
import { formatError, InvalidArgumentError, KilnError, UnimplementedError } from '../../proto/errors.js';
import { fakeResolver } from './fake-images.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'dockerfile');
const cases = readdirSync(fixtures)
  .filter((f) => f.endsWith('.Dockerfile'))
  .map((f) => f.slice(0, -'.Dockerfile'.length))
  .sort();

function convert(source: string, extra: Partial<ConvertOptions> = {}) {
  const ast = parseDockerfile(source, { file: 'Dockerfile' });
  return convertDockerfile(ast, {
    file: 'Dockerfile',
    sessionId: 'test-session',
    resolveImage: fakeResolver(),
    ...extra,
  });
}

describe('Dockerfile → LLB golden files', () => {
  it.each(cases)('%s', async (name) => {
    const source = readFileSync(path.join(fixtures, `${name}.Dockerfile`), 'utf8');
    const optsFile = path.join(fixtures, `${name}.opts.json`);
    const opts = existsSync(optsFile)
      ? (JSON.parse(readFileSync(optsFile, 'utf8')) as Partial<ConvertOptions>)
      : {};
    const result = await convert(source, opts);
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
    const again = marshal((await convert(source, opts)).state);
    expect(again.def.map((b) => Buffer.from(b).toString('hex'))).toEqual(
      def.def.map((b) => Buffer.from(b).toString('hex')),
    );
  });
});

describe('Dockerfile conversion errors name file, line and instruction', () => {
  const failWith = async (source: string, extra: Partial<ConvertOptions> = {}): Promise<KilnError> => {
    try {
      await convert(source, extra);
    } catch (err) {
      if (err instanceof KilnError) return err;
      throw err;
    }
    throw new Error('conversion did not fail');
  };

  it('FROM of an image the registry does not have keeps the error kind, with file:line', async () => {
    const err = await failWith(
      'FROM scratch AS a\nCOPY x /x\n\nFROM nosuch/image:1 AS b\nCOPY --from=a /x /x\n',
    );
    expect(err).toBeInstanceOf(KilnError);
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toBe('Dockerfile:4: FROM nosuch/image:1: docker.io/nosuch/image:1: not found');
    expect(err.location).toMatchObject({ file: 'Dockerfile', line: 4, text: 'FROM nosuch/image:1 AS b' });
    expect(formatError(err)).toContain('4 | FROM nosuch/image:1 AS b');
    // An unused image stage is never resolved.
    await expect(convert('FROM nosuch/image AS a\nFROM scratch\nCOPY x /x\n')).resolves.toBeDefined();
  });

  it('resolver failures other than KilnErrors become InvalidArgument; bad refs are refused', async () => {
    const refused = await failWith('FROM alpine:3.18\n', {
      resolveImage: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5000')),
    });
    expect(refused).toBeInstanceOf(InvalidArgumentError);
    expect(refused.message).toBe('Dockerfile:1: FROM alpine:3.18: connect ECONNREFUSED 127.0.0.1:5000');
    const bad = await failWith('\nFROM Alpine\n');
    expect(bad.message).toMatch(/^Dockerfile:2: FROM Alpine: failed to parse stage name "Alpine"/);
    const noResolver = await convertDockerfile(parseDockerfile('FROM alpine\n', { file: 'Dockerfile' }), {
      file: 'Dockerfile',
    }).catch((e: unknown) => e);
    expect(noResolver).toBeInstanceOf(UnimplementedError);
  });

  it('COPY --from and RUN --mount from= an image resolve it; errors point at the instruction', async () => {
    const err = await failWith('FROM scratch\nCOPY --from=nosuch:1 /a /b\n');
    expect(err.message).toBe('Dockerfile:2: nosuch:1: docker.io/library/nosuch:1: not found');
    const mount = await failWith('FROM alpine:3.18\nRUN --mount=from=gone:2,target=/x true\n');
    expect(mount.location).toMatchObject({ line: 2 });
  });

  it('RUN flags and mounts are validated', async () => {
    const net = await failWith('FROM alpine:3.18\nRUN --network=bridge true\n');
    expect(net.message).toBe('unsupported network mode "bridge"');
    expect(net.location).toMatchObject({ line: 2 });
    const sec = await failWith('FROM alpine:3.18\nRUN --security=weird true\n');
    expect(sec.message).toBe('unsupported security mode "weird"');
    const root = await failWith('FROM alpine:3.18\nRUN --mount=type=cache,target=/ true\n');
    expect(root.message).toBe('invalid mount target "/"');
    const type = await failWith('FROM alpine:3.18\nRUN --mount=type=cahce,target=/c true\n');
    expect(type.message).toBe('unsupported mount type "cahce" (did you mean cache?)');
    const uid = await failWith('FROM alpine:3.18\nRUN --mount=type=bind,uid=1,target=/c true\n');
    expect(uid.message).toBe('uid not allowed for "bind" type mounts');
    const secret = await failWith('FROM alpine:3.18\nRUN --mount=type=secret,src=a,id=b true\n');
    expect(secret.message).toBe("both source and id can't be set");
    const ssh = await failWith('FROM alpine:3.18\nRUN --mount=type=ssh,src=a true\n');
    expect(ssh.message).toBe('ssh does not support source');
    const from = await failWith('FROM alpine:3.18\nRUN --mount=from=$X,target=/x true\n');
    expect(from.message).toContain("'from' doesn't support variable expansion");
  });

  it('unknown instruction and bad flag', async () => {
    const err = await failWith('FROM scratch\n\nFORM x\n');
    expect(err.message).toBe('unknown instruction: FORM (did you mean FROM?)');
    expect(err.location).toMatchObject({ file: 'Dockerfile', line: 3 });
    const flag = await failWith('FROM scratch\nCOPY --chwon=1 a /a\n');
    expect(flag.message).toMatch(/^unknown flag: --chwon \(did you mean --chown\?\)/);
    expect(flag.message).toContain('COPY');
    expect(flag.location).toMatchObject({ line: 2 });
  });

  it('unknown target, bad stage references, bad chmod', async () => {
    expect((await failWith('FROM scratch AS a\n', { target: 'nope' })).message).toBe(
      'target stage "nope" could not be found',
    );
    expect((await failWith('FROM scratch\nCOPY --from=5 /a /b\n')).message).toBe('invalid stage index 5');
    expect(
      (await failWith('FROM scratch AS a\nCOPY --from=later /a /b\nFROM scratch AS later\nFROM a\n')).message,
    ).toContain('cannot copy from stage "later"');
    expect((await failWith('FROM scratch\nCOPY --chmod=999 a /a\n')).message).toContain(
      "invalid chmod parameter: '999'",
    );
    expect((await failWith('FROM scratch\nCOPY --from=$X a /a\n')).message).toContain(
      'variable expansion is not supported for --from',
    );
  });
});
