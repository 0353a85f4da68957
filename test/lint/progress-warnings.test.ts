import { describe, expect, it } from 'vitest';
import { plainDisplay } from '../../client/progress/display.js';
import type { SolveStatus, VertexWarning } from '../../client/progress/solve-status.js';
import { lintDockerfile } from '../../frontends/dockerfile/linter/lint.js';
import { reportLintWarnings } from '../../frontends/dockerfile/linter/report.js';
import { parseDockerfile } from '../../frontends/dockerfile/parser/parser.js';

const enc = (s: string) => new TextEncoder().encode(s);

function warning(vertex: string, short: string, detail: string, url: string): VertexWarning {
  return { vertex, level: 1, short: enc(short), detail: [enc(detail)], url };
}

describe('kilnctl --progress plain prints warnings', () => {
  it('frontend warnings (no vertex) and vertex warnings are listed once at the end', () => {
    let out = '';
    const display = plainDisplay((t) => {
      out += t;
    });
    const t = { seconds: 1, nanos: 0 };
    const status: SolveStatus = {
      vertexes: [
        {
          digest: 'sha256:a',
          inputs: [],
          name: 'step a',
          cached: false,
          started: t,
          completed: t,
          error: '',
        },
      ],
      statuses: [],
      logs: [],
      warnings: [
        warning(
          '',
          'FromAsCasing: casing (line 2)',
          'The as keyword',
          'https://docs.docker.com/go/dockerfile/rule/from-as-casing/',
        ),
        warning('sha256:a', 'Vertex says: careful', 'more', ''),
      ],
    };
    display.update(status);
    display.update({ ...status, vertexes: [], warnings: [status.warnings[0] as VertexWarning] });
    display.done();
    expect(out).toContain('#1 WARN: Vertex says: careful');
    const summary = out.slice(out.indexOf('\nWARNING: '));
    expect(summary).toBe(
      [
        '',
        'WARNING: FromAsCasing: casing (line 2)',
        '  The as keyword',
        '  More info: https://docs.docker.com/go/dockerfile/rule/from-as-casing/',
        'WARNING: Vertex says: careful',
        '  more',
        '',
      ].join('\n'),
    );
  });

  it('lint findings become progress warnings shaped like BuildKit', () => {
    const ast = parseDockerfile('FROM scratch as base\nMAINTAINER me\n', { file: 'Dockerfile' });
    const sent: { short: string; detail?: string[]; url?: string; level?: number }[] = [];
    reportLintWarnings({ warn: (w) => sent.push(w) }, lintDockerfile(ast, { file: 'Dockerfile' }).warnings);
    expect(sent).toEqual([
      {
        short: "FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)",
        detail: ["The 'as' keyword should match the case of the 'from' keyword"],
        url: 'https://docs.docker.com/go/dockerfile/rule/from-as-casing/',
        level: 1,
      },
      {
        short: 'MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label (line 2)',
        detail: ['The MAINTAINER instruction is deprecated, use a label instead to define an image author'],
        url: 'https://docs.docker.com/go/dockerfile/rule/maintainer-deprecated/',
        level: 1,
      },
    ]);
  });
});
