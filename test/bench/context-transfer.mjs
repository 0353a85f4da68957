// Context-transfer benchmark: kilnd + kilnctl on a 20,000-file / 100 MB context (FROM scratch,
// COPY . /app, local export), cold / unchanged / one-file-changed, median of N runs, next to a
// peer builder (buildah) when one is installed.
//
// Run on demand, as root (it mounts a tmpfs), after `npm run build`:
//   node test/bench/context-transfer.mjs [--runs 5] [--files 20000] [--bytes 100000000] [--no-peer]
// Install the peer for benchmarking only: `apt-get install -y buildah`.
// It is a plain .mjs driving dist/ so that neither tsc nor vitest picks it up; see README.md here.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : def;
};
const RUNS = opt('runs', 5);
const FILES = opt('files', 20000);
const BYTES = opt('bytes', 100_000_000);
const PEER = !args.includes('--no-peer');
const TIMEOUT_MS = 300_000;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function generateContext(dir) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /app\n');
  const per = Math.floor(BYTES / FILES);
  const pool = randomBytes(per + 4096);
  for (let i = 0; i < FILES; i++) {
    const d = path.join(dir, `d${String(i % 100).padStart(3, '0')}`);
    if (i < 100) fs.mkdirSync(d, { recursive: true });
    const off = i % 4096;
    fs.writeFileSync(path.join(d, `f${i}.dat`), pool.subarray(off, off + per));
  }
}

function changeOneFile(ctx, n) {
  fs.writeFileSync(path.join(ctx, 'd000', 'f0.dat'), `changed ${n} ${Date.now()}\n`);
}

/** Runs a command to completion; resolves with its wall time in seconds (and its stderr). */
async function timedOutput(cmd, argv, env = process.env) {
  const start = performance.now();
  // A hung build must fail the run, not hold the benchmark lock forever.
  const r = spawnSync(cmd, argv, {
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  const ms = performance.now() - start;
  if (r.error) throw new Error(`${cmd} ${argv.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { seconds: ms / 1000, stderr: r.stderr };
}

async function timed(cmd, argv, env = process.env) {
  return (await timedOutput(cmd, argv, env)).seconds;
}

/** Seconds between the first start and the last completion of the rawjson vertex called `name`. */
function vertexSeconds(rawjson, name) {
  let started = Infinity;
  let completed = 0;
  for (const line of rawjson.split('\n')) {
    if (!line.startsWith('{')) continue;
    for (const v of JSON.parse(line).vertexes ?? []) {
      if (v.name !== name) continue;
      if (v.started) started = Math.min(started, Date.parse(v.started));
      if (v.completed) completed = Math.max(completed, Date.parse(v.completed));
    }
  }
  if (!(completed >= started)) throw new Error(`no completed vertex "${name}" in the progress`);
  return (completed - started) / 1000;
}

async function startKilnd(sock, root, log) {
  const child = spawn(
    process.execPath,
    // KILND_NODE_ARGS: extra node flags for kilnd, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    [
      ...(process.env.KILND_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      path.join(repo, 'dist/daemon/cmd/kilnd.js'),
      '--addr',
      `unix://${sock}`,
      '--root',
      root,
    ],
    { stdio: ['ignore', fs.openSync(log, 'a'), fs.openSync(log, 'a')] },
  );
  for (let i = 0; i < 200 && !fs.existsSync(sock); i++) await sleep(50);
  if (!fs.existsSync(sock)) throw new Error(`kilnd did not start, see ${log}`);
  return {
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      fs.rmSync(sock, { force: true });
    },
  };
}

async function benchKiln(work, ctx) {
  const sock = path.join(work, 'kilnd.sock');
  const out = path.join(work, 'out');
  const log = path.join(work, 'kilnd.log');
  const build = async () => {
    fs.rmSync(out, { recursive: true, force: true });
    const r = await timedOutput(process.execPath, [
      path.join(repo, 'dist/kilnctl.mjs'),
      '--addr',
      `unix://${sock}`,
      'build',
      '--frontend',
      'dockerfile.v0',
      '--local',
      `context=${ctx}`,
      '--local',
      `dockerfile=${ctx}`,
      '--output',
      `type=local,dest=${out}`,
      '--progress',
      'rawjson',
    ]);
    uploads.push(vertexSeconds(r.stderr, '[internal] load build context'));
    return r.seconds;
  };
  const uploads = [];
  const res = { cold: [], unchanged: [], changed: [], coldUpload: [] };
  for (let i = 0; i < RUNS; i++) {
    const root = path.join(work, `kiln-root-${i}`);
    const d = await startKilnd(sock, root, log);
    try {
      res.cold.push(await build());
      res.coldUpload.push(uploads.at(-1));
      res.unchanged.push(await build());
      changeOneFile(ctx, i);
      res.changed.push(await build());
    } finally {
      await d.stop();
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
  return res;
}

async function benchBuildah(work, ctx) {
  const res = { cold: [], unchanged: [], changed: [] };
  for (let i = 0; i < RUNS; i++) {
    const root = path.join(work, `buildah-root-${i}`);
    const runroot = path.join(work, `buildah-run-${i}`);
    const build = () =>
      timed('buildah', [
        '--root',
        root,
        '--runroot',
        runroot,
        '--storage-driver',
        'vfs',
        'build',
        '--layers',
        '--quiet',
        '-f',
        path.join(ctx, 'Dockerfile'),
        '-t',
        'bench',
        ctx,
      ]);
    try {
      res.cold.push(await build());
      res.unchanged.push(await build());
      changeOneFile(ctx, 100 + i);
      res.changed.push(await build());
    } finally {
      spawnSync('buildah', ['--root', root, '--runroot', runroot, '--storage-driver', 'vfs', 'rm', '--all']);
      fs.rmSync(root, { recursive: true, force: true });
      fs.rmSync(runroot, { recursive: true, force: true });
    }
  }
  return res;
}

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

async function main() {
  if (!fs.existsSync(path.join(repo, 'dist/daemon/cmd/kilnd.js')))
    throw new Error('run `npm run build` first');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-'));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8g', 'tmpfs', work]);
  if (m.status !== 0) throw new Error(`mount tmpfs failed (root needed): ${m.stderr}`);
  try {
    const ctx = path.join(work, 'ctx');
    generateContext(ctx);
    console.log(`context: ${FILES} files, ${(BYTES / 1e6).toFixed(0)} MB on tmpfs; median of ${RUNS} runs`);
    const rows = [['kiln', await benchKiln(work, ctx)]];
    if (PEER && has('buildah')) rows.push(['buildah', await benchBuildah(work, ctx)]);
    else if (PEER) console.log('peer: buildah not installed (apt-get install -y buildah)');
    const cases = ['cold', 'unchanged', 'changed'];
    console.log(`${'builder'.padEnd(10)}${cases.map((c) => c.padStart(12)).join('')}`);
    for (const [name, r] of rows)
      console.log(
        `${name.padEnd(10)}${cases.map((c) => `${median(r[c]).toFixed(2)}s`.padStart(12)).join('')}`,
      );
    const upload = median(rows[0][1].coldUpload);
    console.log(
      `kiln cold context upload ([internal] load build context): ${upload.toFixed(2)}s ` +
        `(the issue's BuildKit v0.11 figure: ~2.6 s, ratio ${(upload / 2.6).toFixed(2)})`,
    );
    if (rows.length > 1) {
      const [k, p] = [rows[0][1], rows[1][1]];
      console.log(
        `${'kiln/peer'.padEnd(10)}${cases.map((c) => (median(k[c]) / median(p[c])).toFixed(2).padStart(12)).join('')}`,
      );
    }
  } finally {
    spawnSync('umount', ['-l', work]);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
