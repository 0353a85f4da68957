import { cleanPath } from '../../../worker/fs/clean-path.js';

/**
 * `.dockerignore` text → patterns, with moby/patternmatcher `ignorefile.ReadAll` semantics:
 * `#` lines are comments (only at column 0), lines are trimmed, paths cleaned, one leading `/`
 * removed, and `!` kept in front. A lone `!` is passed through for the matcher to reject.
 */
export function parseIgnoreFile(text: string | Uint8Array): string[] {
  let s = typeof text === 'string' ? text : new TextDecoder('utf-8', { ignoreBOM: true }).decode(text);
  if (s.startsWith('\ufeff')) s = s.slice(1);
  const patterns: string[] = [];
  const lines = s.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const raw of lines) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.startsWith('#')) continue;
    let pattern = line.trim();
    if (pattern === '') continue;
    const invert = pattern.startsWith('!');
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    patterns.push(invert ? `!${pattern}` : pattern);
  }
  return patterns;
}
