import { marshal } from '../../client/llb/marshal.js';
import type { Platform } from '../../client/llb/platform.js';
import { local } from '../../client/llb/source-op.js';
import { InvalidArgumentError, throwIfAborted, UnimplementedError } from '../../proto/errors.js';
import type { Frontend, FrontendBridge, FrontendResult, ResultRef } from '../types.js';
import type { NetworkMode } from '../../client/llb/state.js';
import { convertDockerfile, type ImageResolveMode } from './convert/convert.js';
import { serializeImageConfig } from './convert/image-config.js';
import { parseIgnoreFile } from './dockerignore/index.js';
import { detectSyntax, parseDockerfile } from './parser/parser.js';

/** Frontend opts parsed once at the edge (builder/build.go, dockerui/config.go). */
export interface DockerfileFrontendOptions {
  readonly filename: string;
  readonly dockerfileKey: string;
  readonly contextKey: string;
  readonly target: string | undefined;
  readonly buildArgs: Record<string, string>;
  readonly labels: Record<string, string>;
  readonly platform: Platform | undefined;
  readonly noCache: string[] | undefined;
  readonly imageResolveMode: ImageResolveMode;
  readonly networkMode: NetworkMode | undefined;
  readonly hostname: string | undefined;
}

const resolveModes: readonly ImageResolveMode[] = ['default', 'pull', 'local'];
const forcedNetworkModes: Readonly<Record<string, NetworkMode>> = {
  host: 'host',
  none: 'none',
  sandbox: 'sandbox',
};

export function parseFrontendOptions(opts: Readonly<Record<string, string>>): DockerfileFrontendOptions {
  const buildArgs: Record<string, string> = {};
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts)) {
    if (k.startsWith('build-arg:')) buildArgs[k.slice('build-arg:'.length)] = v;
    else if (k.startsWith('label:')) labels[k.slice('label:'.length)] = v;
  }
  let platform: Platform | undefined;
  const platformOpt = opts.platform?.trim();
  if (platformOpt) {
    const list = platformOpt
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    if (list.length > 1) throw new UnimplementedError('multi-platform builds are not supported yet');
    platform = parsePlatform(list[0] ?? '');
  }
  const noCacheOpt = opts['no-cache'];
  const resolveMode = opts['image-resolve-mode'] || 'default';
  if (!(resolveModes as readonly string[]).includes(resolveMode)) {
    throw new InvalidArgumentError(`invalid image-resolve-mode: ${resolveMode}`);
  }
  const networkOpt = opts['force-network-mode'];
  let networkMode: NetworkMode | undefined;
  if (networkOpt) {
    networkMode = forcedNetworkModes[networkOpt];
    if (!networkMode) throw new InvalidArgumentError(`invalid force-network-mode: ${networkOpt}`);
  }
  const hostname = opts.hostname || buildArgs.BUILDKIT_SANDBOX_HOSTNAME || undefined;
  return {
    imageResolveMode: resolveMode as ImageResolveMode,
    networkMode,
    hostname,
    filename: opts.filename || 'Dockerfile',
    dockerfileKey: opts.dockerfilekey || 'dockerfile',
    contextKey: opts.contextkey || 'context',
    target: opts.target || undefined,
    buildArgs,
    labels,
    platform,
    noCache:
      noCacheOpt === undefined
        ? undefined
        : noCacheOpt
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== ''),
  };
}

function parsePlatform(text: string): Platform {
  const [os, architecture, variant] = text.toLowerCase().split('/');
  if (!os || !architecture)
    throw new InvalidArgumentError(`invalid platform ${JSON.stringify(text)}: want os/arch[/variant]`);
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** `# syntax=` images that are the Dockerfile frontend itself: the built-in one serves them. */
function isDockerfileFrontendImage(ref: string): boolean {
  return /^(docker\.io\/)?docker\/dockerfile(-upstream)?(:[^@]*)?(@.*)?$/.test(ref);
}

async function readOptional(
  bridge: FrontendBridge,
  ref: ResultRef,
  path: string,
  signal: AbortSignal,
): Promise<Uint8Array | undefined> {
  try {
    return await bridge.readFile(ref, path, signal);
  } catch {
    throwIfAborted(signal);
    // A missing ignore file is the normal case; the bridge reports it as an error.
    return undefined;
  }
}

/** The built-in `dockerfile.v0` frontend (BuildKit's builder/build.go, §5.2 of the wire notes). */
export const dockerfileFrontend: Frontend = {
  async solve(bridge, rawOpts, signal): Promise<FrontendResult> {
    const opts = parseFrontendOptions(rawOpts);
    const { filename, sessionId } = { filename: opts.filename, sessionId: bridge.sessionId };
    const defaultName = filename === 'Dockerfile';

    const dockerfileLocal = local(opts.dockerfileKey, {
      sessionId,
      followPaths: [filename, `${filename}.dockerignore`, ...(defaultName ? ['dockerfile'] : [])],
      sharedKeyHint: opts.dockerfileKey,
      differ: 'none',
      customName: `[internal] load build definition from ${filename}`,
    });
    const ignoreLocal = local(opts.contextKey, {
      sessionId,
      followPaths: ['.dockerignore'],
      // Its own shared key: sharing the context's would make the next context sync start from a
      // snapshot holding only .dockerignore, and resend every file.
      sharedKeyHint: `${opts.contextKey}-.dockerignore`,
      differ: 'none',
      customName: '[internal] load .dockerignore',
    });

    const loadDockerfile = async (): Promise<{
      source: Uint8Array;
      specificIgnore: Uint8Array | undefined;
    }> => {
      const ref = await bridge.solve({ definition: marshal(dockerfileLocal) }, signal);
      let source: Uint8Array;
      try {
        source = await bridge.readFile(ref, filename, signal);
      } catch (err) {
        throwIfAborted(signal);
        if (!defaultName) {
          throw new InvalidArgumentError(`failed to read dockerfile: ${filename}`, { cause: err });
        }
        try {
          source = await bridge.readFile(ref, 'dockerfile', signal);
        } catch {
          throwIfAborted(signal);
          throw new InvalidArgumentError(`failed to read dockerfile: ${filename}: not found`, { cause: err });
        }
      }
      return { source, specificIgnore: await readOptional(bridge, ref, `${filename}.dockerignore`, signal) };
    };
    const loadContextIgnore = async (): Promise<Uint8Array | undefined> => {
      const ref = await bridge.solve({ definition: marshal(ignoreLocal) }, signal);
      return readOptional(bridge, ref, '.dockerignore', signal);
    };
    const [{ source, specificIgnore }, contextIgnore] = await Promise.all([
      loadDockerfile(),
      loadContextIgnore(),
    ]);
    if (source.length === 0) throw new InvalidArgumentError('the Dockerfile cannot be empty');

    const syntax = rawOpts['build-arg:BUILDKIT_SYNTAX'] || detectSyntax(source)?.value;
    if (syntax && !isDockerfileFrontendImage(syntax)) {
      throw new UnimplementedError(
        `gateway frontends are not supported yet: the Dockerfile asks for frontend ${JSON.stringify(syntax)} (# syntax=); remove the directive to use the built-in Dockerfile frontend`,
      );
    }

    const ignoreFile = specificIgnore ?? contextIgnore;
    const excludePatterns = ignoreFile ? parseIgnoreFile(ignoreFile) : [];
    const ast = parseDockerfile(source, { file: filename });
    for (const w of ast.warnings) {
      bridge.warn({
        short: w.short,
        ...(w.detail ? { detail: [w.detail] } : {}),
        ...(w.url ? { url: w.url } : {}),
      });
    }
    const converted = await convertDockerfile(
      ast,
      {
        file: filename,
        sessionId,
        resolveImage: (ref, o, sig) =>
          bridge.resolveImageConfig(
            ref,
            {
              platform: {
                os: o.platform.os,
                architecture: o.platform.architecture,
                ...(o.platform.variant ? { variant: o.platform.variant } : {}),
              },
              resolveMode: o.resolveMode,
            },
            sig,
          ),
        imageResolveMode: opts.imageResolveMode,
        ...(opts.networkMode ? { networkMode: opts.networkMode } : {}),
        ...(opts.hostname ? { hostname: opts.hostname } : {}),
        buildArgs: opts.buildArgs,
        labels: opts.labels,
        excludePatterns,
        contextName: opts.contextKey,
        ...(opts.target ? { target: opts.target } : {}),
        ...(opts.platform ? { platform: opts.platform } : {}),
        ...(opts.noCache ? { noCache: opts.noCache } : {}),
      },
      signal,
    );
    throwIfAborted(signal);
    const definition = marshal(converted.state, opts.platform ? { platform: opts.platform } : {});
    const metadata = { 'containerimage.config': serializeImageConfig(converted.image) };
    // An all-scratch result has no ops: BuildKit returns an empty result (no ref) for it.
    if (definition.def.length === 0) return { metadata };
    const ref = await bridge.solve({ definition }, signal);
    return { ref, metadata };
  },
};
