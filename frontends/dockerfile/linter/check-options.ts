import { InvalidArgumentError } from '../../../proto/errors.js';

/** `# check=skip=A,B;error=true;experimental=C` (BuildKit's linter.ParseLintOptions). */
export interface CheckOptions {
  readonly skipAll: boolean;
  readonly skip: ReadonlySet<string>;
  readonly experimentalAll: boolean;
  readonly experimental: ReadonlySet<string>;
  /** `error=true`: a reported warning fails the build. */
  readonly error: boolean;
}

export const defaultCheckOptions: CheckOptions = {
  skipAll: false,
  skip: new Set(),
  experimentalAll: false,
  experimental: new Set(),
  error: false,
};

function parseBool(text: string): boolean | undefined {
  const v = text.trim();
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** Parses the value of a check directive or of the BUILDKIT_DOCKERFILE_CHECK build-arg. */
export function parseCheckOptions(text: string): CheckOptions {
  // A trailing `// comment` explains an inline skip; it is not part of the value.
  const value = text.replace(/\s\/\/.*$/, '').trim();
  if (value === '') return defaultCheckOptions;
  let skipAll = false;
  let experimentalAll = false;
  let error = false;
  const skip = new Set<string>();
  const experimental = new Set<string>();
  for (const part of value.split(';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) throw new InvalidArgumentError(`invalid check option ${JSON.stringify(part)}`);
    const key = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    const names = v.split(',').map((s) => s.trim());
    switch (key) {
      case 'skip':
        if (v === 'all') skipAll = true;
        else for (const n of names) skip.add(n);
        break;
      case 'experimental':
        if (v === 'all') experimentalAll = true;
        else for (const n of names) experimental.add(n);
        break;
      case 'error': {
        const b = parseBool(v);
        if (b === undefined) {
          throw new InvalidArgumentError(`failed to parse check option ${JSON.stringify(part)}`);
        }
        error = b;
        break;
      }
      default:
        throw new InvalidArgumentError(`invalid check option ${JSON.stringify(key)}`);
    }
  }
  return { skipAll, skip, experimentalAll, experimental, error };
}

/** A `# check=…` line among the comments above one instruction: it applies to that instruction only. */
export function inlineCheckOptions(comments: readonly string[]): CheckOptions | undefined {
  for (const raw of comments) {
    const m = /^\s*#?\s*check\s*=(.*)$/i.exec(raw);
    if (!m) continue;
    try {
      return parseCheckOptions(m[1] ?? '');
    } catch {
      // A malformed inline comment is just a comment.
    }
  }
  return undefined;
}
