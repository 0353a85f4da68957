#!/usr/bin/env node
// Regenerates the TypeScript types in proto/generated/ from proto/**/*.proto with
// proto-loader-gen-types. Usage: node proto/tools/gen-proto-types.mjs [outDir]
// The test suite runs it into a temp dir and fails when the committed files drift.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const protoRoot = join(repoRoot, 'proto');
const outDir = resolve(process.argv[2] ?? join(protoRoot, 'generated'));

// Same options as proto/grpc-services.ts passes to @grpc/proto-loader at run time.
const flags = [
  '--grpcLib=@grpc/grpc-js',
  '--keepCase',
  '--longs=Number',
  '--enums=Number',
  '--defaults',
  '--oneofs',
  '--arrays',
  '--bytes=Buffer',
  '--importFileExtension=.js',
];

function listProtos(dir) {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((p) => p.endsWith('.proto'))
    .map((p) => p.split(sep).join('/'))
    .sort();
}

function listFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath ?? d.path, d.name));
}

/**
 * The generator emits a few constructs that the project's strict compiler settings reject; fix them here so
 * the output typechecks under verbatimModuleSyntax and exactOptionalPropertyTypes.
 */
function postprocess(text) {
  let out = text.replace(/^import \{ ([^}]*) \} from '([^']+)';$/gm, (line, names, from) =>
    from === '@grpc/grpc-js' || from === '@grpc/proto-loader' || from.startsWith('.')
      ? `import type { ${names} } from '${from}';`
      : line,
  );
  out = out.replace(
    /^import \* as grpc from '@grpc\/grpc-js'$/gm,
    "import type * as grpc from '@grpc/grpc-js'",
  );
  // The header names the source file; make it independent of the directory the script runs in.
  out = out.replace(/^\/\/ Original file: .*\/?proto\/(.*)$/gm, '// Original file: proto/$1');
  return out.endsWith('\n') ? out : `${out}\n`;
}

const require = createRequire(import.meta.url);
const genBin = require.resolve('@grpc/proto-loader/build/bin/proto-loader-gen-types.js');

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
execFileSync(process.execPath, [genBin, ...flags, '-I', 'proto', '-O', outDir, ...listProtos(protoRoot)], {
  cwd: repoRoot,
  stdio: ['ignore', 'inherit', 'inherit'],
});
let count = 0;
for (const file of listFiles(outDir)) {
  if (!file.endsWith('.ts')) continue;
  writeFileSync(file, postprocess(readFileSync(file, 'utf8')));
  count++;
}
process.stdout.write(`generated ${count} files in ${relative(process.cwd(), outDir) || '.'}\n`);
