/**
 * Benchmark: Kiln against Debian's docker.io BuildKit and buildah, in one invocation, on a tmpfs.
 *
 *   npm run build                                   # the bench runs dist/, not the sources
 *   apt-get install -y buildah                      # optional peer (docker.io is already a test dep)
 *   node test/bench/stages-export.mjs               # everything: 5 runs, 3 for the 256 MB cases
 *   node test/bench/stages-export.mjs --runs 3 --big-runs 1 --tools kiln,docker --scenarios stages
 *   node test/bench/stages-export.mjs --buildah-driver vfs --keep   # keep the tmpfs for a look
 *
 * Must run as root (tmpfs mount, runc, dockerd). Not part of `npm test`.
 *
 * Scenarios (see test/bench/README.md for what exactly each peer measures):
 *  - stages: four independent stages of CPU/IO work and a final stage copying from all four; wall
 *    time cold (fresh daemon state / fresh storage) and warm (same state, fully cached), and whether
 *    the four RUNs overlapped: every RUN prints /proc/uptime at its start and end (same clock for
 *    every tool), and for Kiln the RUN vertices' rawjson timestamps are checked as well.
 *  - big / small: a 256 MiB layer of random bytes (big) or 20000 files of 4 KiB (small) exported
 *    as a tarball. Build and export are timed separately; export time is the exporter vertex from
 *    the progress stream where there is one (Kiln rawjson, BuildKit `#N exporting ... DONE Xs`),
 *    else the wall time of the export command (docker save, buildah push).
 *
 * Prints a table: scenario, Kiln median, peer medians, kiln/peer ratios. Raw samples go to
 * --json FILE when given.
 */
/* global fetch */
import { Buffer } from 'node:buffer';
import { spawn, execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  copyFileSync,
  symlinkSync,
} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { setTimeout, clearTimeout } from 'node:timers';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const kilnd = path.join(repo, 'dist/daemon/cmd/kilnd.js');
const kilnctl = path.join(repo, 'dist/kilnctl.mjs');

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    'big-runs': { type: 'string', default: '3' },
    tools: { type: 'string', default: 'kiln,docker,buildah' },
    scenarios: { type: 'string', default: 'stages,big,small' },
    'buildah-driver': { type: 'string', default: 'overlay' },
    'tmpfs-size': { type: 'string', default: '10g' },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const runs = Number(flags.runs);
const bigRuns = Number(flags['big-runs']);
const tools = new Set(flags.tools.split(','));
const scenarios = new Set(flags.scenarios.split(','));
if (tools.has('buildah') && !exists('/usr/bin/buildah')) {
  console.error('buildah not installed (apt-get install -y buildah): skipping it');
  tools.delete('buildah');
}

function exists(p) {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

const now = () => performance.now() / 1000;
const median = (xs) => {
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Runs a command; resolves with its output and wall time, rejects on a non-zero exit. */
function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const child = spawn(cmd, args, {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = [];
    const lines = []; // [arrival time, line] for progress that carries no timestamps
    let partial = '';
    const onData = (d) => {
      out.push(d);
      const t = now();
      partial += d.toString();
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const p of parts) lines.push([t, p]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = now() - t0;
      const text = Buffer.concat(out).toString();
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${text.slice(-3000)}`));
      else resolve({ wall, text, lines, t0 });
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check, what, child) {
  for (let i = 0; i < 300; i++) {
    if (child && child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode})`);
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${what} did not come up`);
}

function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Unmounts whatever is still mounted below `dir` (overlays of dockerd/buildah/runc), deepest first. */
function unmountBelow(dir) {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m) => m && m.startsWith(`${dir}/`))
    .sort()
    .reverse();
  for (const m of mounts) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      // gone already
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tools. Each exposes: fresh() → a state (daemon/storage) ; build(state, dockerfileDir, opts) ;
// export helpers ; stop(state).

const children = new Set();

function spawnDaemon(cmd, args, logFile) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  child.stdout.on('data', (d) => log.push(d));
  child.stderr.on('data', (d) => log.push(d));
  child.on('exit', () => writeFileSync(logFile, Buffer.concat(log)));
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function makeKiln(root, base) {
  let n = 0;
  return {
    name: 'kiln',
    async fresh() {
      const dir = path.join(root, `kiln-${n++}`);
      mkdirSync(dir, { recursive: true });
      const sock = path.join(dir, 'kilnd.sock');
      const child = spawnDaemon(
        process.execPath,
        // KILND_NODE_ARGS: extra node flags for kilnd, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
        [
          ...(process.env.KILND_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
          kilnd,
          '--addr',
          `unix://${sock}`,
          '--root',
          path.join(dir, 'root'),
        ],
        path.join(root, `kilnd-${n}.log`),
      );
      const env = { BUILDKIT_HOST: `unix://${sock}` };
      await waitFor(
        async () => (await run(process.execPath, [kilnctl, 'debug', 'workers'], { env }), true),
        'kilnd',
        child,
      );
      return { dir, child, env };
    },
    async stop(s) {
      await stopChild(s.child);
      unmountBelow(s.dir);
      rmSync(s.dir, { recursive: true, force: true });
    },
    /** `output` is a buildctl --output value. */
    async build(s, ctx, output) {
      const args = [kilnctl, 'build', '--frontend', 'dockerfile.v0', '--local', `context=${ctx}`];
      args.push('--local', `dockerfile=${ctx}`, '--opt', `build-arg:BASE=${base}`, '--progress', 'rawjson');
      if (output) args.push('--output', output);
      const r = await run(process.execPath, args, { env: s.env });
      return { ...r, ...parseRawjson(r.text) };
    },
  };
}

/** Vertex spans (seconds since epoch) and RUN log lines from kilnctl's rawjson progress. */
function parseRawjson(text) {
  const vertices = new Map();
  let logs = '';
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let s;
    try {
      s = JSON.parse(line);
    } catch {
      continue;
    }
    for (const v of s.vertexes ?? []) {
      const cur = vertices.get(v.digest) ?? { name: v.name };
      if (v.started)
        cur.started = Math.min(cur.started ?? Infinity, Date.parse(v.started) / 1000 + frac(v.started));
      if (v.completed)
        cur.completed = Math.max(cur.completed ?? 0, Date.parse(v.completed) / 1000 + frac(v.completed));
      if (v.cached) cur.cached = true;
      vertices.set(v.digest, cur);
    }
    for (const l of s.logs ?? []) if (l.data) logs += Buffer.from(l.data, 'base64').toString();
  }
  return { vertices: [...vertices.values()], logs };
}

/** Sub-millisecond part of an RFC 3339 timestamp (Date.parse keeps milliseconds only). */
function frac(ts) {
  const m = /\.(\d+)Z$/.exec(ts);
  if (!m) return 0;
  return Number(`0.${m[1]}`) - Number(`0.${m[1].slice(0, 3).padEnd(3, '0')}`);
}

function makeDocker(root, base) {
  let n = 0;
  return {
    name: 'docker',
    async fresh() {
      const dir = path.join(root, `docker-${n++}`);
      mkdirSync(dir, { recursive: true });
      const sock = path.join(dir, 'docker.sock');
      const child = spawnDaemon(
        '/usr/sbin/dockerd',
        [
          '--iptables=false',
          '--bridge=none',
          '--data-root',
          path.join(dir, 'root'),
          '--exec-root',
          path.join(dir, 'exec'),
          '--pidfile',
          path.join(dir, 'docker.pid'),
          '--host',
          `unix://${sock}`,
        ],
        path.join(root, `dockerd-${n}.log`),
      );
      const host = ['-H', `unix://${sock}`];
      await waitFor(async () => (await run('/usr/bin/docker', [...host, 'version']), true), 'dockerd', child);
      return { dir, child, host };
    },
    async stop(s) {
      await stopChild(s.child);
      unmountBelow(s.dir);
      rmSync(s.dir, { recursive: true, force: true });
    },
    async build(s, ctx, extra) {
      const args = [...s.host, 'build', '--network', 'host', '--progress', 'plain'];
      args.push('--build-arg', `BASE=${base}`, ...extra, ctx);
      const r = await run('/usr/bin/docker', args, { env: { DOCKER_BUILDKIT: '1' } });
      return { ...r, logs: r.text };
    },
    docker: (s, args) => run('/usr/bin/docker', [...s.host, ...args]),
  };
}

function makeBuildah(root, base, driver) {
  let n = 0;
  return {
    name: 'buildah',
    async fresh() {
      const dir = path.join(root, `buildah-${n++}`);
      mkdirSync(dir, { recursive: true });
      const g = [
        '--root',
        path.join(dir, 'root'),
        '--runroot',
        path.join(dir, 'run'),
        '--storage-driver',
        driver,
      ];
      return { dir, g };
    },
    async stop(s) {
      try {
        execFileSync('buildah', [...s.g, 'rm', '--all'], { stdio: 'ignore' });
      } catch {
        // nothing to remove
      }
      unmountBelow(s.dir);
      rmSync(s.dir, { recursive: true, force: true });
    },
    async build(s, ctx, tag) {
      const args = [...s.g, 'bud', '--layers', '--jobs', '4', '--network', 'host', '--tls-verify=false'];
      args.push('--build-arg', `BASE=${base}`, '-t', tag, ctx);
      const r = await run('buildah', args);
      return { ...r, logs: r.text };
    },
    buildah: (s, args) => run('buildah', [...s.g, ...args]),
  };
}

// ---------------------------------------------------------------------------------------------
// Workloads

function stagesDockerfile() {
  const work = (i) =>
    [
      `echo "BENCH s${i} start $(cut -d' ' -f1 /proc/uptime)"`,
      `dd if=/dev/urandom bs=1M count=32 2>/dev/null | sha256sum > /out`,
      `n=0; x=${i}; while [ $n -lt 120000 ]; do x=$(( (x * 1103515245 + 12345) % 2147483648 )); n=$((n + 1)); done`,
      `echo $x >> /out`,
      `echo "BENCH s${i} end $(cut -d' ' -f1 /proc/uptime)"`,
    ].join('; ');
  const lines = ['ARG BASE'];
  for (let i = 1; i <= 4; i++) lines.push(`FROM \${BASE} AS s${i}`, `RUN ${work(i)}`);
  lines.push('FROM ${BASE}');
  for (let i = 1; i <= 4; i++) lines.push(`COPY --from=s${i} /out /out${i}`);
  return `${lines.join('\n')}\n`;
}

const bigDockerfile = 'ARG BASE\nFROM ${BASE}\nRUN dd if=/dev/urandom of=/big bs=1M count=256 2>/dev/null\n';
// printf and redirections are ash builtins: no fork per file.
const smallDockerfile =
  'ARG BASE\nFROM ${BASE}\nRUN mkdir /small && cd /small && i=0; while [ $i -lt 20000 ]; do printf "%4096s" $i > f$i; i=$((i + 1)); done\n';

/** From the RUN markers: each stage's [start, end] on the host's uptime clock. */
function stageSpans(logs) {
  const spans = new Map();
  for (const m of logs.matchAll(/BENCH s(\d) (start|end) ([\d.]+)/g)) {
    const s = spans.get(m[1]) ?? {};
    s[m[2]] = Number(m[3]);
    spans.set(m[1], s);
  }
  return [...spans.values()].filter((s) => s.start !== undefined && s.end !== undefined);
}

/** Overlap summary: how many stage pairs ran at once, and sum(stage times) / span of all stages. */
function overlap(spans) {
  if (spans.length < 2) return { pairs: 0, concurrency: NaN, n: spans.length };
  let pairs = 0;
  for (let i = 0; i < spans.length; i++)
    for (let j = i + 1; j < spans.length; j++)
      if (spans[i].start < spans[j].end && spans[j].start < spans[i].end) pairs++;
  const sum = spans.reduce((a, s) => a + (s.end - s.start), 0);
  const span = Math.max(...spans.map((s) => s.end)) - Math.min(...spans.map((s) => s.start));
  return { pairs, concurrency: span > 0 ? sum / span : NaN, n: spans.length };
}

/** BuildKit's plain progress: the duration of the vertex whose name starts with `prefix`. */
function plainVertexSeconds(text, prefix) {
  const ids = [...text.matchAll(/^#(\d+) (.*)$/gm)].filter((m) => m[2].startsWith(prefix)).map((m) => m[1]);
  let total = NaN;
  for (const id of new Set(ids)) {
    const d = new RegExp(`^#${id} DONE ([\\d.]+)s`, 'm').exec(text);
    if (d) total = (Number.isNaN(total) ? 0 : total) + Number(d[1]);
  }
  return total;
}

function kilnVertexSeconds(vertices, prefix) {
  const vs = vertices.filter((v) => v.name?.startsWith(prefix) && v.started && v.completed);
  if (vs.length === 0) return NaN;
  return Math.max(...vs.map((v) => v.completed)) - Math.min(...vs.map((v) => v.started));
}

// ---------------------------------------------------------------------------------------------

const results = []; // { scenario, metric, tool, samples: number[], note }
function record(scenario, metric, tool, value, note) {
  let r = results.find((x) => x.scenario === scenario && x.metric === metric && x.tool === tool);
  if (!r) results.push((r = { scenario, metric, tool, samples: [], notes: new Set() }));
  r.samples.push(value);
  if (note) r.notes.add(note);
}

async function stagesScenario(t, ctx) {
  for (let i = 0; i < runs; i++) {
    for (const tool of t) {
      const s = await tool.fresh();
      try {
        const build = (tag) => {
          if (tool.name === 'kiln') return tool.build(s, ctx, `type=image,name=bench/${tag}:latest`);
          if (tool.name === 'docker') return tool.build(s, ctx, ['-t', `bench/${tag}`]);
          return tool.build(s, ctx, `bench/${tag}`);
        };
        const cold = await build('stages');
        record('stages', 'cold wall s', tool.name, cold.wall);
        const ov = overlap(stageSpans(cold.logs));
        record('stages', 'cold RUN concurrency', tool.name, ov.concurrency);
        record('stages', 'cold overlapping RUN pairs (of 6)', tool.name, ov.pairs);
        if (tool.name === 'kiln') {
          const runs4 = cold.vertices.filter(
            (v) => /^\[s\d 2\/2\] RUN/.test(v.name ?? '') && v.started && v.completed,
          );
          const o = overlap(runs4.map((v) => ({ start: v.started, end: v.completed })));
          record('stages', 'cold overlapping RUN vertices (rawjson)', tool.name, o.pairs);
        }
        const warm = await build('stages');
        record('stages', 'warm wall s', tool.name, warm.wall);
        const again = stageSpans(warm.logs).length;
        if (again > 0) record('stages', 'warm wall s', tool.name, NaN, `warm build re-ran ${again} RUNs`);
      } finally {
        await tool.stop(s);
      }
      process.stderr.write(`stages run ${i + 1}/${runs} ${tool.name} done\n`);
    }
  }
}

const MiB = 1024 * 1024;

async function exportScenario(scenario, t, ctx, out, layerBytes) {
  const mbps = (bytes, secs) => bytes / MiB / secs;
  for (let i = 0; i < bigRuns; i++) {
    for (const tool of t) {
      const s = await tool.fresh();
      const tarball = path.join(out, `${tool.name}-${scenario}.tar`);
      const measure = (metric, secs, bytes, note) => {
        record(scenario, `${metric} s`, tool.name, secs, note);
        record(scenario, `${metric} MiB/s (layer data)`, tool.name, mbps(layerBytes, secs), note);
        if (bytes !== undefined) record(scenario, `${metric} tarball MiB`, tool.name, bytes / MiB);
      };
      try {
        if (tool.name === 'kiln') {
          // 1: build + OCI tarball with gzip layers (the default), from fresh state.
          const a = await tool.build(s, ctx, `type=oci,dest=${tarball},name=bench/${scenario}:latest`);
          const exp = kilnVertexSeconds(a.vertices, 'exporting to');
          record(scenario, 'build (cold, wall - export) s', tool.name, a.wall - exp);
          measure('export oci gzip', exp, statSync(tarball).size);
          rmSync(tarball);
          // 2: the same build (cached) as an OCI tarball with uncompressed layers: a new layer blob.
          const b = await tool.build(
            s,
            ctx,
            `type=oci,dest=${tarball},name=bench/${scenario}:latest,compression=uncompressed`,
          );
          measure(
            'export oci uncompressed',
            kilnVertexSeconds(b.vertices, 'exporting to'),
            statSync(tarball).size,
          );
          rmSync(tarball);
          // 3: the filesystem as a tar (tar exporter; no layer, no content store).
          const c = await tool.build(s, ctx, `type=tar,dest=${tarball}`);
          measure(
            'export fs tar (-o type=tar)',
            kilnVertexSeconds(c.vertices, 'sending tarball'),
            statSync(tarball).size,
          );
          rmSync(tarball);
        } else if (tool.name === 'docker') {
          const a = await tool.build(s, ctx, ['-t', `bench/${scenario}`]);
          const exp = plainVertexSeconds(a.text, 'exporting to image');
          record(scenario, 'build (cold, wall - export) s', tool.name, a.wall - exp);
          const t0 = now();
          await tool.docker(s, ['save', '-o', tarball, `bench/${scenario}`]);
          measure('export docker save (uncompressed)', now() - t0, statSync(tarball).size);
          rmSync(tarball);
          const c = await tool.build(s, ctx, ['-o', `type=tar,dest=${tarball}`]);
          measure(
            'export fs tar (-o type=tar)',
            plainVertexSeconds(c.text, 'exporting to client'),
            statSync(tarball).size,
          );
          rmSync(tarball);
        } else {
          const a = await tool.build(s, ctx, `bench/${scenario}`);
          record(scenario, 'build (cold, wall - export) s', tool.name, a.wall);
          let t0 = now();
          await tool.buildah(s, [
            'push',
            `bench/${scenario}`,
            `oci-archive:${tarball}:bench/${scenario}:latest`,
          ]);
          measure('export oci gzip', now() - t0, statSync(tarball).size, 'buildah push oci-archive: (wall)');
          rmSync(tarball);
          t0 = now();
          await tool.buildah(s, [
            'push',
            '--disable-compression',
            `bench/${scenario}`,
            `oci-archive:${tarball}:bench/${scenario}:latest`,
          ]);
          measure(
            'export oci uncompressed',
            now() - t0,
            statSync(tarball).size,
            'buildah push -D oci-archive: (wall)',
          );
          rmSync(tarball);
        }
      } finally {
        await tool.stop(s);
      }
      process.stderr.write(`${scenario} run ${i + 1}/${bigRuns} ${tool.name} done\n`);
    }
  }
}

/** docker 20.10's CLI takes -o type=local|tar only; checked, not assumed. */
async function dockerSupportsOciOutput(tool, ctx, out) {
  const s = await tool.fresh();
  try {
    await tool.build(s, ctx, ['-o', `type=oci,dest=${path.join(out, 'probe.tar')}`]);
    return true;
  } catch (err) {
    return String(err.message).match(/not supported|unsupported|invalid/i)?.[0] ?? 'failed';
  } finally {
    await tool.stop(s);
    rmSync(path.join(out, 'probe.tar'), { force: true });
  }
}

function printTable() {
  const peers = [...tools].filter((x) => x !== 'kiln');
  const fmt = (x) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2)) : '-');
  const header = ['scenario', 'metric', 'kiln', ...peers, ...peers.map((p) => `kiln/${p}`)];
  const rows = [];
  const keys = [];
  for (const r of results)
    if (!keys.some((k) => k[0] === r.scenario && k[1] === r.metric)) keys.push([r.scenario, r.metric]);
  for (const [scenario, metric] of keys) {
    const med = (tool) => {
      const r = results.find((x) => x.scenario === scenario && x.metric === metric && x.tool === tool);
      return r ? median(r.samples) : NaN;
    };
    const k = med('kiln');
    rows.push([
      scenario,
      metric,
      fmt(k),
      ...peers.map((p) => fmt(med(p))),
      ...peers.map((p) => fmt(k / med(p))),
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\nmedians (stages: ${runs} runs; big/small: ${bigRuns} runs)`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
  const notes = results.flatMap((r) => [...r.notes].map((n) => `${r.tool} ${r.scenario}/${r.metric}: ${n}`));
  if (notes.length) console.log(`\nnotes:\n  ${[...new Set(notes)].join('\n  ')}`);
}

async function main() {
  if (!exists(kilnd) || !exists(kilnctl)) throw new Error('dist/ is missing: run `npm run build` first');
  const root = mkdtempSync('/tmp/kiln-bench-stages-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${flags['tmpfs-size']}`, 'kiln-bench', root]);
  let registry;
  const cleanup = async () => {
    for (const c of [...children]) await stopChild(c);
    if (registry) await stopChild(registry);
    unmountBelow(root);
    if (!flags.keep) {
      execFileSync('umount', ['-l', root]);
      rmSync(root, { recursive: true, force: true });
    }
  };
  const onSignal = () => {
    cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // Registry on the tmpfs.
    const port = await freePort();
    const reg = `127.0.0.1:${port}`;
    writeFileSync(
      path.join(root, 'registry.yml'),
      `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${root}/registry\nhttp:\n  addr: ${reg}\n`,
    );
    registry = spawnDaemon(
      '/usr/bin/docker-registry',
      ['serve', path.join(root, 'registry.yml')],
      path.join(root, 'registry.log'),
    );
    await waitFor(async () => (await fetch(`http://${reg}/v2/`)).ok, 'docker-registry', registry);
    const base = `${reg}/busybox:latest`;

    // The base image, built and pushed by Kiln as in test/quickstart.sh.
    const baseCtx = path.join(root, 'base');
    mkdirSync(path.join(baseCtx, 'rootfs/bin'), { recursive: true });
    mkdirSync(path.join(baseCtx, 'rootfs/etc'));
    mkdirSync(path.join(baseCtx, 'rootfs/tmp'));
    copyFileSync('/bin/busybox', path.join(baseCtx, 'rootfs/bin/busybox'));
    for (const a of execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n'))
      if (a && a !== 'busybox') symlinkSync('busybox', path.join(baseCtx, 'rootfs/bin', a));
    writeFileSync(path.join(baseCtx, 'rootfs/etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(path.join(baseCtx, 'rootfs/etc/group'), 'root:x:0:\n');
    writeFileSync(
      path.join(baseCtx, 'Dockerfile'),
      'FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCMD ["sh"]\n',
    );
    {
      const k = makeKiln(root, base);
      const s = await k.fresh();
      try {
        await k.build(s, baseCtx, `type=image,name=${base},push=true`);
      } finally {
        await k.stop(s);
      }
    }

    const ctx = (name, dockerfile) => {
      const dir = path.join(root, 'ctx', name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
      return dir;
    };
    const out = path.join(root, 'out');
    mkdirSync(out);
    const all = [
      makeKiln(root, base),
      makeDocker(root, base),
      makeBuildah(root, base, flags['buildah-driver']),
    ].filter((x) => tools.has(x.name));

    if (tools.has('docker') && (scenarios.has('big') || scenarios.has('small'))) {
      const d = all.find((x) => x.name === 'docker');
      const oci = await dockerSupportsOciOutput(d, ctx('probe', 'ARG BASE\nFROM ${BASE}\n'), out);
      console.log(`docker 20.10 build -o type=oci: ${oci === true ? 'supported' : `not usable (${oci})`}`);
    }
    if (scenarios.has('stages')) await stagesScenario(all, ctx('stages', stagesDockerfile()));
    if (scenarios.has('big')) await exportScenario('big', all, ctx('big', bigDockerfile), out, 256 * MiB);
    if (scenarios.has('small'))
      await exportScenario('small', all, ctx('small', smallDockerfile), out, 20000 * 4096);
    printTable();
    if (flags.json)
      writeFileSync(
        flags.json,
        JSON.stringify(
          results.map((r) => ({ ...r, notes: [...r.notes] })),
          null,
          2,
        ),
      );
  } finally {
    await cleanup();
  }
}

await main();
