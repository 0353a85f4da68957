/**
 * Real BuildKit peers for the interop tests, from Debian's packages (no buildctl or buildkitd
 * binary can be had here):
 *
 * - `buildBkclient()` builds test/interop/bkclient, a buildctl-like driver made of BuildKit's own
 *   Go client library (v0.8, as golang-github-docker-docker-dev ships it), and `runBkclient`
 *   runs it: the real client side of the wire against kilnd.
 * - `dockerBuildkitSocket(dockerSocket)` serves a unix socket where every connection is upgraded
 *   to h2c on dockerd's `/grpc` endpoint, which serves the embedded BuildKit's
 *   `moby.buildkit.v1.Control` (the way buildx's docker driver reaches it): the real daemon side
 *   of the wire for kilnctl.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, type RunResult } from '../e2e/harness.js';

const execFileAsync = promisify(execFile);

/** Builds bkclient into `dir` (installing golang-go and the Go libraries when missing). */
export async function buildBkclient(dir: string): Promise<string> {
  const script = path.join(repoRoot, 'test/interop/build-bkclient.sh');
  const { stdout } = await execFileAsync('bash', [script, dir], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  const binary = stdout.trim().split('\n').pop();
  if (!binary) throw new Error('build-bkclient.sh printed no binary path');
  return binary;
}

export function runBkclient(
  binary: string,
  args: readonly string[],
  opts: { input?: Buffer | undefined; timeoutMs?: number } = {},
): Promise<RunResult & { readonly stdoutBytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 120_000,
    });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const bytes = Buffer.concat(stdout);
      resolve({ code, stdout: bytes.toString(), stdoutBytes: bytes, stderr });
    });
    child.stdin.end(opts.input);
  });
}

export interface BuildkitSocket {
  /** `unix://…`, for `--addr` / `BUILDKIT_HOST`. */
  readonly addr: string;
  close(): Promise<void>;
}

const upgradeRequest =
  'POST /grpc HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 0\r\n\r\n';

/** A unix socket whose connections reach dockerd's embedded BuildKit through `/grpc`. */
export async function dockerBuildkitSocket(dockerSocket: string): Promise<BuildkitSocket> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kiln-dockerbk-'));
  const socket = path.join(dir, 'buildkit.sock');
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    client.pause();
    const upstream = net.connect(dockerSocket, () => upstream.write(upgradeRequest));
    open.add(client).add(upstream);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.once('error', closeBoth).once('close', closeBoth);
    upstream.once('error', closeBoth).once('close', closeBoth);
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      upstream.off('data', onHead);
      if (!head.subarray(0, 12).toString().startsWith('HTTP/1.1 101')) {
        closeBoth();
        return;
      }
      const rest = head.subarray(end + 4);
      if (rest.length > 0) client.write(rest);
      upstream.pipe(client);
      client.pipe(upstream);
      client.resume();
    };
    upstream.on('data', onHead);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, resolve);
  });
  return {
    addr: `unix://${socket}`,
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
