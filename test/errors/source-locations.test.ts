import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { marshalWithDigests } from '../../client/llb/marshal.js';
import { fromGrpcError } from '../../client/remote-error.js';
import {
  attachDefinitionSource,
  errorFromReturnStatus,
  toServiceError,
} from '../../daemon/control/error-status.js';
import { VertexError } from '../../daemon/solver/errors.js';
import { convertDockerfile } from '../../frontends/dockerfile/convert/convert.js';
import { parseDockerfile } from '../../frontends/dockerfile/parser/parser.js';
import { SourceRecorder } from '../../frontends/dockerfile/source-map.js';
import { decodeMessage, digestOf } from '../../proto/codec.js';
import type { KilnError } from '../../proto/errors.js';
import {
  formatError,
  formatSourceSnippet,
  InvalidArgumentError,
  sourceDetailTypeUrl,
} from '../../proto/errors.js';

const dockerfile = 'FROM scratch\nCOPY a /a\n\nRUN --network=none \\\n  exit 3\nCOPY b /b\n';
const data = new TextEncoder().encode(dockerfile);

/** What grpc-js hands the client: a ServiceError with the daemon's trailers. */
function asClientError(err: unknown): grpc.ServiceError {
  const s = toServiceError(err);
  return Object.assign(new Error(s.details), {
    code: s.code ?? grpc.status.UNKNOWN,
    details: s.details ?? '',
    metadata: s.metadata ?? new grpc.Metadata(),
  });
}

describe('source snippets (buildctl errdefs.Source.Print)', () => {
  it('marks the range and shows context lines', () => {
    const text = formatSourceSnippet({ file: 'Dockerfile', line: 4, endLine: 5, data });
    expect(text).toBe(
      [
        'Dockerfile:4',
        '--------------------',
        '   3 |     ',
        '   4 | >>> RUN --network=none \\',
        '   5 | >>>   exit 3',
        '   6 |     COPY b /b',
        '--------------------',
      ].join('\n'),
    );
  });

  it('a single line gets more context', () => {
    // One line: four lines of padding where the file has them (here one above, two below).
    const text = formatSourceSnippet({ file: 'Dockerfile', line: 2, data }) ?? '';
    expect(text.split('\n').filter((l) => l.includes(' | '))).toHaveLength(4);
    const middle = formatSourceSnippet({ file: 'Dockerfile', line: 4, data }) ?? '';
    expect(middle.split('\n').filter((l) => l.includes(' | '))).toHaveLength(5);
    expect(text).toContain('   2 | >>> COPY a /a');
  });
});

describe('errors cross gRPC with an errdefs.Source detail', () => {
  it('daemon status → kilnctl RemoteError keeps file, range and data', () => {
    const err = new InvalidArgumentError('unknown instruction: BADCMD', {
      location: { file: 'Dockerfile', line: 2, endLine: 2, text: 'COPY a /a', data },
    });
    const wire = asClientError(err);
    expect(wire.details).toBe('unknown instruction: BADCMD');
    const raw = wire.metadata.get('grpc-status-details-bin')[0] as Buffer;
    const status = decodeMessage<{ details: { type_url: string; value: Buffer }[] }>(
      'google.rpc.Status',
      raw,
    );
    expect(status.details[0]?.type_url).toBe(sourceDetailTypeUrl);
    const json = JSON.parse(status.details[0]?.value.toString() ?? '') as {
      info: { filename: string; data: string; language: string };
      ranges: { start: { line: number }; end: { line: number } }[];
    };
    expect(json.info.filename).toBe('Dockerfile');
    expect(Buffer.from(json.info.data, 'base64').toString()).toBe(dockerfile);
    expect(json.ranges).toEqual([{ start: { line: 2 }, end: { line: 2 } }]);

    const remote = fromGrpcError(wire, 'failed to solve') as KilnError;
    expect(remote.code).toBe('INVALID_ARGUMENT');
    expect(remote.location?.line).toBe(2);
    expect(formatError(remote)).toContain('failed to solve: unknown instruction: BADCMD\nDockerfile:2\n');
    expect(formatError(remote)).toContain('   2 | >>> COPY a /a');
  });

  it('without a source, the text names file:line as before', () => {
    const wire = asClientError(
      new InvalidArgumentError('bad', { location: { file: 'Dockerfile', line: 3, text: 'X' } }),
    );
    expect(wire.metadata.get('grpc-status-details-bin')).toHaveLength(0);
    expect(wire.details).toContain('--> Dockerfile:3');
  });

  it('LLBBridge.Return{error} from a client gateway keeps code and location', () => {
    const wire = asClientError(
      new InvalidArgumentError('lint violation found for rules: FromAsCasing', {
        location: { file: 'Dockerfile', line: 2, data },
      }),
    );
    const raw = wire.metadata.get('grpc-status-details-bin')[0] as Buffer;
    const status = decodeMessage<{
      code: number;
      message: string;
      details: { type_url: string; value: Buffer }[];
    }>('google.rpc.Status', raw);
    const back = errorFromReturnStatus(status);
    expect(back.code).toBe('INVALID_ARGUMENT');
    expect(back.message).toBe('lint violation found for rules: FromAsCasing');
    expect(back.location?.line).toBe(2);
    expect(asClientError(back).metadata.get('grpc-status-details-bin')).toHaveLength(1);
  });
});

describe('a failing op maps back to its Dockerfile lines', () => {
  it('the Definition carries pb.Source; a VertexError of the RUN gets lines 4-5', async () => {
    const ast = parseDockerfile(dockerfile, { file: 'Dockerfile' });
    const recorder = new SourceRecorder();
    const converted = await convertDockerfile(ast, {
      file: 'Dockerfile',
      sessionId: 's',
      sourceRecorder: recorder,
    });
    const { definition, digests: vertexDigests } = marshalWithDigests(converted.state);
    const def = recorder.attach(definition, vertexDigests, 'Dockerfile', data);
    const source = def.source;
    expect(source?.infos[0]?.filename).toBe('Dockerfile');
    const byLine = new Map<number, string>();
    for (const [digest, l] of Object.entries(source?.locations ?? {})) {
      const r = l.locations[0]?.ranges[0];
      if (r) byLine.set(r.start.line, `${digest} ${r.end.line}`);
    }
    expect([...byLine.keys()].sort()).toEqual([2, 4, 6]);
    const digests = new Set(def.def.map((b) => digestOf(b)));
    const runDigest = byLine.get(4)?.split(' ')[0] ?? '';
    expect(digests.has(runDigest)).toBe(true);
    expect(byLine.get(4)?.split(' ')[1]).toBe('5');

    const err = new VertexError({ digest: runDigest, name: '[2/3] RUN exit 3' }, new Error('exit code: 3'));
    attachDefinitionSource(err, def);
    expect(err.location).toMatchObject({
      file: 'Dockerfile',
      line: 4,
      endLine: 5,
      text: 'RUN --network=none \\',
    });
    expect(formatError(err)).toContain('   5 | >>>   exit 3');

    const other = new VertexError({ digest: 'sha256:nope', name: 'x' }, new Error('boom'));
    attachDefinitionSource(other, def);
    expect(other.location).toBeUndefined();
  });
});
