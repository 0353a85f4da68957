import { parseIgnoreFile } from './ignore-file.js';

/**
 * Which ignore file applies to a build: `<Dockerfile name>.dockerignore` (next to the Dockerfile,
 * e.g. `app.Dockerfile.dockerignore`) wins over the context's `.dockerignore`, as in BuildKit.
 */
export function ignoreFileCandidates(dockerfilePath: string | undefined): string[] {
  const base = dockerfilePath
    ?.split('/')
    .filter((p) => p !== '')
    .pop();
  const specific = base !== undefined && base !== '' ? [`${base}.dockerignore`] : [];
  return [...specific, '.dockerignore'];
}

/** Reads a file by name; resolves undefined when it does not exist. */
export type IgnoreFileReader = (
  name: string,
  signal: AbortSignal,
) => Promise<string | Uint8Array | undefined>;

export interface SelectedIgnoreFile {
  /** The file that was used, or undefined when there is none. */
  readonly name: string | undefined;
  readonly patterns: string[];
}

export async function loadIgnorePatterns(
  read: IgnoreFileReader,
  dockerfilePath: string | undefined,
  signal: AbortSignal,
): Promise<SelectedIgnoreFile> {
  for (const name of ignoreFileCandidates(dockerfilePath)) {
    signal.throwIfAborted();
    const content = await read(name, signal);
    if (content !== undefined) return { name, patterns: parseIgnoreFile(content) };
  }
  return { name: undefined, patterns: [] };
}
