/** Files of an exported result as comparable records, and the multi-stage fixture's expected tree. */
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { extract } from 'tar-stream';
import { repoRoot } from './harness.js';

/** Three FROM-scratch stages: two independent ones, a final one copying from both. */
export const multistageFixture = path.join(repoRoot, 'test/fixtures/e2e/multistage');

/** path → "mode content" for every file, "dir mode" for directories, "-> target" for symlinks. */
export async function snapshotTree(dir: string, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(path.join(dir, rel))).sort()) {
    const p = path.join(rel, name);
    const st = await lstat(path.join(dir, p));
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    if (st.isDirectory()) {
      out[`${p}/`] = `dir ${mode}`;
      Object.assign(out, await snapshotTree(dir, p));
    } else if (st.isSymbolicLink()) {
      out[p] = `-> ${await readlink(path.join(dir, p))}`;
    } else {
      out[p] = `${mode} ${await readFile(path.join(dir, p), 'utf8')}`;
    }
  }
  return out;
}

export async function snapshotTar(file: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        const name = header.name.replace(/^\.\//, '').replace(/\/$/, '');
        const mode = ((header.mode ?? 0) & 0o7777).toString(8).padStart(4, '0');
        if (header.type === 'directory') out[`${name}/`] = `dir ${mode}`;
        else if (header.type === 'symlink') out[name] = `-> ${header.linkname}`;
        else out[name] = `${mode} ${Buffer.concat(chunks).toString('utf8')}`;
        next();
      });
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(await readFile(file));
  await done;
  return out;
}

/** What `Dockerfile` in the fixture builds with `--opt build-arg:GREETING=hi`. */
export const expectedTree = {
  'out/': 'dir 0755',
  'out/data/': 'dir 0755',
  'out/data/one.txt': '0644 one\n',
  'out/data/sub/': 'dir 0755',
  'out/data/sub/two.txt': '0644 two\n',
  'out/greeting.txt': '0600 hi world\n',
  'out/tools/': 'dir 0755',
  'out/tools/run.sh': '0755 #!/bin/sh\necho run\n',
  'out/tools/tools.conf': '0664 built by stage tools\n',
};
