import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shared conformance corpus, read in place (never copied into the project). */
export const corpusDir = path.resolve(
  fileURLToPath(new URL('../../', import.meta.url)),
  '..',
  'shared',
  'corpus',
);

export function corpusPath(...parts: string[]): string {
  return path.join(corpusDir, ...parts);
}

export function readCorpusJson<T>(...parts: string[]): T {
  return JSON.parse(readFileSync(corpusPath(...parts), 'utf8')) as T;
}
