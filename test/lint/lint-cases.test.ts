import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { convertDockerfile } from '../../frontends/dockerfile/convert/convert.js';
import { parseIgnoreFile } from '../../frontends/dockerfile/dockerignore/index.js';
import { type LintWarning, lintDockerfile } from '../../frontends/dockerfile/linter/lint.js';
import { parseDockerfile } from '../../frontends/dockerfile/parser/parser.js';
import { KilnError } from '../../proto/errors.js';

// The shared corpus is read in place (shared/corpus/README.md §11), never copied.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const corpus = path.resolve(repoRoot, '..', 'shared', 'corpus');

interface ExpectedWarning {
  ruleName: string;
  description: string;
  url: string;
  detail: string;
  level: number;
  line: number;
}
interface LintCase {
  test: string;
  index: number;
  dockerfile: string;
  dockerignore?: string;
  frontendAttrs?: Record<string, string>;
  warnings?: ExpectedWarning[];
  unmarshalWarnings?: ExpectedWarning[];
  buildErr?: string;
  streamBuildErrRegexp?: string;
  buildErrLocation?: number;
}

const data = JSON.parse(
  readFileSync(path.join(corpus, 'derived', 'dockerfile-lint', 'lint-cases.json'), 'utf8'),
) as { caseCount: number; cases: LintCase[] };

function shortOf(w: { ruleName: string; detail: string; line: number }): string {
  const msg = `${w.ruleName}: ${w.detail}`;
  return w.line > 0 ? `${msg} (line ${w.line})` : msg;
}

const byLineThen =
  (key: (w: { line: number; short: string }) => string) =>
  (a: { line: number; short: string }, b: { line: number; short: string }): number =>
    a.line - b.line || key(a).localeCompare(key(b));

function run(c: LintCase, allStages: boolean) {
  const ast = parseDockerfile(c.dockerfile, { file: 'Dockerfile' });
  const buildArgs: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.frontendAttrs ?? {})) {
    if (k.startsWith('build-arg:')) buildArgs[k.slice('build-arg:'.length)] = v;
  }
  const excludePatterns = c.dockerignore === undefined ? [] : parseIgnoreFile(Buffer.from(c.dockerignore));
  const result = lintDockerfile(ast, { file: 'Dockerfile', buildArgs, excludePatterns, allStages });
  return { ast, buildArgs, excludePatterns, result };
}

function actual(ws: readonly LintWarning[]) {
  return ws.map((w) => ({
    ruleName: w.ruleName,
    description: w.description,
    url: w.url,
    detail: w.detail,
    line: w.location.line,
    short: shortOf({ ruleName: w.ruleName, detail: w.detail, line: w.location.line }),
  }));
}

describe('Dockerfile lint cases (shared corpus §11)', () => {
  it('has every case', () => {
    expect(data.cases).toHaveLength(data.caseCount);
  });

  it.each(data.cases.map((c) => [`${c.test} #${c.index}`, c] as const))(
    'build path: %s',
    async (_name, c) => {
      const { ast, buildArgs, excludePatterns, result } = run(c, false);
      const expected = (c.warnings ?? [])
        .map((w) => ({ ...w, short: shortOf(w) }))
        .sort(byLineThen((w) => w.short));
      const got = actual(result.warnings).sort(byLineThen((w) => w.short));
      expect(got.map((w) => w.short)).toEqual(expected.map((w) => w.short));
      for (const [i, w] of got.entries()) {
        const e = expected[i] as ExpectedWarning;
        expect(w.description).toBe(e.description);
        expect(w.url).toBe(e.url);
        expect(e.level).toBe(1);
      }

      // The build: conversion errors win over a lint violation, as in dockerfile2llb.
      let err: unknown;
      try {
        await convertDockerfile(ast, {
          file: 'Dockerfile',
          buildArgs,
          excludePatterns,
          resolveImage: () =>
            Promise.resolve({
              digest: `sha256:${'0'.repeat(64)}`,
              config: Buffer.from(
                JSON.stringify({
                  architecture: 'amd64',
                  os: 'linux',
                  config: {},
                  rootfs: { type: 'layers', diff_ids: [] },
                }),
              ),
            }),
        });
        if (result.violation) throw result.violation;
      } catch (e) {
        err = e;
      }
      if (c.buildErr !== undefined) {
        expect(err).toBeInstanceOf(KilnError);
        const expectedText = c.buildErr.replace(/^dockerfile parse error on line \d+: /, '');
        expect((err as KilnError).message).toContain(expectedText);
        if (c.buildErrLocation !== undefined) {
          expect((err as KilnError).location?.line).toBe(c.buildErrLocation);
        }
      } else if (c.test === 'testInvalidDefaultArgInFrom' && Object.keys(buildArgs).length === 0) {
        // The corpus drops the build-arg this case builds with; `FROM $IMAGE` alone cannot build.
        expect(err === undefined || /should not be blank/.test((err as Error).message)).toBe(true);
      } else {
        // A streamBuildErrRegexp case fails later, in the solver (a missing COPY source).
        expect(err).toBeUndefined();
      }
    },
  );

  it.each(data.cases.map((c) => [`${c.test} #${c.index}`, c] as const))(
    'lint path (every stage): %s',
    (_name, c) => {
      const { result } = run(c, true);
      const key = (w: { line: number; short: string }): string => w.short;
      const expected = (c.unmarshalWarnings ?? c.warnings ?? [])
        .map((w) => ({ line: 0, short: `${w.ruleName}: ${w.detail}` }))
        .sort(byLineThen(key));
      const got = actual(result.warnings)
        .map((w) => ({ line: 0, short: `${w.ruleName}: ${w.detail}` }))
        .sort(byLineThen(key));
      expect(got).toEqual(expected);
    },
  );
});
