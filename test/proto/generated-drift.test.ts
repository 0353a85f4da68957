import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const committed = join(repoRoot, 'proto', 'generated');

function tree(dir: string): Map<string, string> {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
  return new Map(
    files.map((d) => {
      const full = join(d.parentPath, d.name);
      return [relative(dir, full), readFileSync(full, 'utf8')] as const;
    }),
  );
}

describe('proto/generated', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kiln-proto-gen-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('is exactly what proto/tools/gen-proto-types.mjs produces from the .proto files (run npm run proto:gen)', () => {
    execFileSync(process.execPath, [join(repoRoot, 'proto', 'tools', 'gen-proto-types.mjs'), tmp], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const fresh = tree(tmp);
    const current = tree(committed);
    expect([...current.keys()].sort()).toEqual([...fresh.keys()].sort());
    for (const [file, text] of fresh) expect(current.get(file), file).toBe(text);
  });
});
