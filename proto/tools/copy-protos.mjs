#!/usr/bin/env node
// Copies proto/**/*.proto into dist/proto/ so the built code (dist/proto/*.js) finds them beside itself,
// exactly as the sources do. Part of `npm run build`.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const from = join(repoRoot, 'proto');
const to = resolve(process.argv[2] ?? join(repoRoot, 'dist', 'proto'));

const files = readdirSync(from, { recursive: true, encoding: 'utf8' })
  .filter((p) => p.endsWith('.proto') && !p.split(sep).includes('node_modules'))
  .sort();
for (const file of files) {
  mkdirSync(dirname(join(to, file)), { recursive: true });
  copyFileSync(join(from, file), join(to, file));
}
process.stdout.write(`copied ${files.length} .proto files to ${to}\n`);
