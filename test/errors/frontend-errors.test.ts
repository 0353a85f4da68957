import { describe, expect, it } from 'vitest';
import { dockerfileFrontend } from '../../frontends/dockerfile/builder.js';
import type { FrontendBridge } from '../../frontends/types.js';
import { KilnError } from '../../proto/errors.js';

/** A bridge that serves one Dockerfile and records what the frontend sends. */
function fakeBridge(dockerfile: string) {
  const warnings: string[] = [];
  const solved: Parameters<FrontendBridge['solve']>[0]['definition'][] = [];
  const bridge = {
    sessionId: 'sess',
    solve: (req: Parameters<FrontendBridge['solve']>[0]) => {
      solved.push(req.definition);
      return Promise.resolve({ id: `ref-${solved.length}` });
    },
    readFile: (_ref: unknown, p: string) =>
      p === 'Dockerfile'
        ? Promise.resolve(Buffer.from(dockerfile))
        : Promise.reject(new Error('no such file')),
    warn: (w: { short: string }) => warnings.push(w.short),
    resolveImageConfig: () => Promise.reject(new Error('no registry here')),
  } as unknown as FrontendBridge;
  return { bridge, warnings, solved };
}

async function failure(dockerfile: string, opts: Record<string, string> = {}): Promise<KilnError> {
  const { bridge } = fakeBridge(dockerfile);
  try {
    await dockerfileFrontend.solve(bridge, opts, new AbortController().signal);
  } catch (err) {
    if (err instanceof KilnError) return err;
    throw err;
  }
  throw new Error('the build did not fail');
}

describe('frontend errors carry the Dockerfile', () => {
  it('unknown instruction', async () => {
    const err = await failure('FROM scratch\nBADCMD x\n');
    expect(err.message).toContain('unknown instruction: BADCMD');
    expect(err.location?.line).toBe(2);
    expect(Buffer.from(err.location?.data ?? []).toString()).toBe('FROM scratch\nBADCMD x\n');
  });

  it('lint violation with error=true', async () => {
    const err = await failure('# check=error=true\nFROM scratch as base\n');
    expect(err.message).toBe('lint violation found for rules: FromAsCasing');
    expect(err.location?.line).toBe(2);
    expect(err.location?.data).toBeDefined();
  });
});
