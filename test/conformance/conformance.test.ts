/**
 * Kiln against docker's BuildKit (docker.io 20.10) on the Dockerfiles under
 * test/fixtures/conformance/: same filesystem, same image config, same layers and history.
 * Aspects listed in a case's `knownDifferences` run as `test.fails`: the gap stays visible and the
 * test turns red once Kiln is fixed (then drop the entry).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  type Aspect,
  type CaseResult,
  checkExpected,
  ConformanceEnv,
  type ConformanceCase,
  listCases,
  type TestAspect,
} from './harness.js';
import { diffConfig, diffHistory } from './image-facts.js';
import { diffTrees } from './tree.js';

const fixturesDir = fileURLToPath(new URL('../fixtures/conformance/', import.meta.url));
const cases = await listCases(fixturesDir);
/** KILN_CONFORMANCE_DUMP=DIR writes each case's image facts and differences there, for triage. */
const dumpDir = process.env['KILN_CONFORMANCE_DUMP'];

async function dump(c: ConformanceCase, aspect: Aspect, r: CaseResult, found: string[]): Promise<void> {
  if (!dumpDir) return;
  await mkdir(dumpDir, { recursive: true });
  const facts = { kiln: r.kiln.facts, docker: r.docker?.facts };
  await writeFile(path.join(dumpDir, `${c.name}.${aspect}.json`), JSON.stringify({ found, facts }, null, 2));
}

describe('conformance: Kiln vs docker BuildKit', () => {
  let env: ConformanceEnv | undefined;
  const controller = new AbortController();
  const results = new Map<string, Promise<CaseResult>>();

  beforeAll(async () => {
    env = await ConformanceEnv.start(controller.signal);
  }, 180_000);
  afterAll(async () => {
    controller.abort(new Error('conformance suite finished'));
    await Promise.allSettled(results.values());
    await env?.stop();
  }, 60_000);

  /** Each case is built once; its aspects are separate tests over the same result. */
  function result(c: ConformanceCase): Promise<CaseResult> {
    let r = results.get(c.name);
    if (!r) {
      if (!env) throw new Error('conformance environment did not start');
      r = env.run(c, controller.signal);
      results.set(c.name, r);
    }
    return r;
  }

  function differences(c: ConformanceCase, aspect: Aspect, r: CaseResult): string[] {
    if (!r.docker) {
      const expected = checkExpected(c.spec, r.kiln);
      return aspect === 'history' ? [] : expected[aspect];
    }
    switch (aspect) {
      case 'filesystem':
        return diffTrees(r.kiln.tree, r.docker.tree);
      case 'config':
        return diffConfig(r.kiln.facts, r.docker.facts);
      case 'history':
        return diffHistory(r.kiln.facts, r.docker.facts);
      default: {
        const never: never = aspect;
        throw new Error(`unknown aspect ${String(never)}`);
      }
    }
  }

  for (const c of cases) {
    const expectError = c.spec.expectError;
    if (expectError !== undefined) {
      const run = c.spec.knownDifferences?.build ? test.fails : test;
      run(
        `${c.name} > build fails: ${expectError}`,
        async () => {
          if (!env) throw new Error('conformance environment did not start');
          const failed = await env.runFailing(c, controller.signal);
          expect(failed.docker, "docker's BuildKit built it").toBeDefined();
          expect(failed.kiln, 'Kiln built it').toContain(expectError);
        },
        240_000,
      );
      continue;
    }
    describe(c.name, () => {
      // Nothing to compare when Kiln is known not to build the case.
      const aspectsToTest: TestAspect[] = c.spec.knownDifferences?.build
        ? ['build']
        : c.spec.kilnOnly
          ? ['build', 'filesystem', 'config']
          : ['build', 'filesystem', 'config', 'history'];
      for (const aspect of aspectsToTest) {
        const known = c.spec.knownDifferences?.[aspect];
        const title = c.spec.kilnOnly ? `${aspect} (Kiln only: ${c.spec.kilnOnly})` : aspect;
        const check = async (): Promise<string[]> => {
          const r = await result(c);
          if (aspect === 'build') return [];
          const legacy = c.spec.dockerLegacy?.[aspect]?.diffs ?? [];
          const found = differences(c, aspect, r);
          await dump(c, aspect, r, found);
          const missing = legacy
            .filter((d) => !found.includes(d))
            .map((d) => `docker legacy difference gone: ${d}`);
          return [...found.filter((d) => !legacy.includes(d)), ...missing];
        };
        if (!known) {
          test(title, async () => expect(await check()).toEqual([]), 240_000);
          continue;
        }
        test.fails(
          `${title} [known difference]`,
          async () => {
            let found: string[];
            try {
              found = await check();
            } catch (err) {
              if (aspect === 'build' && known.diffs.every((d) => String(err).includes(d))) throw err;
              console.error(`${c.name} ${aspect}: fails differently from what case.json lists:`, err);
              return;
            }
            if (JSON.stringify(found) === JSON.stringify(known.diffs))
              throw new Error(`${known.reason}:\n${found.join('\n')}`);
            // Returning makes test.fails report red: fixed (drop the entry) or changed.
            console.error(`${c.name} ${aspect}: differences are now`, found);
          },
          240_000,
        );
      }
    });
  }
});
