import { readdirSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Absolute path of the directory holding Kiln's .proto files. This module sits beside them both in
 * the sources (`proto/`) and in the build output (`dist/proto/`, filled by proto/tools/copy-protos.mjs).
 */
export function protoDir(): string {
  return fileURLToPath(new URL('.', import.meta.url));
}

/** Every .proto file under protoDir(), as sorted forward-slash paths relative to it. */
export function protoFiles(dir: string = protoDir()): string[] {
  const entries = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  return entries
    .filter((p) => p.endsWith('.proto') && !p.split(sep).includes('node_modules'))
    .map((p) => p.split(sep).join('/'))
    .sort();
}

/** Joins a forward-slash proto import path onto the proto directory. */
export function protoPath(importPath: string, dir: string = protoDir()): string {
  return join(dir, ...importPath.split('/'));
}
