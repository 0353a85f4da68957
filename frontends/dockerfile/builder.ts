import { isIP } from 'node:net';
import { marshal, marshalWithDigests } from '../../client/llb/marshal.js';
import { formatPlatform, type Platform } from '../../client/llb/platform.js';
import { local } from '../../client/llb/source-op.js';
import { InvalidArgumentError, throwIfAborted, UnimplementedError } from '../../proto/errors.js';
import type { Frontend, FrontendBridge, FrontendResult, ResultRef } from '../types.js';
import type { NetworkMode } from '../../client/llb/state.js';
import { convertDockerfile, type ImageResolveMode } from './convert/convert.js';
import { serializeImageConfig } from './convert/image-config.js';
import { parseNamedContexts, type NamedContexts } from './convert/named-contexts.js';
import { parseCsvRecord } from './convert/run-mounts.js';
import { parseIgnoreFile } from './dockerignore/index.js';
import { parseInstructions } from './instructions/parse.js';
import { detectSyntax, parseDockerfile } from './parser/parser.js';
import {
  describeSubrequests,
  listTargets,
  outlineResult,
  parseSubrequest,
  type SubrequestId,
} from './subrequests/subrequests.js';
import { lintDockerfile } from './linter/lint.js';
import { reportLintWarnings } from './linter/report.js';
import { SourceRecorder, withSourceData } from './source-map.js';

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
  /** `add-hosts=host=ip,…` */
  readonly extraHosts: readonly { readonly host: string; readonly ip: string }[];
  /** `context:<name>=…` */
  readonly namedContexts: NamedContexts;
  /** `requestid=…`: a subrequest instead of a build. */
  readonly subrequest: SubrequestId | undefined;
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
    extraHosts: parseExtraHosts(opts['add-hosts'] ?? ''),
    namedContexts: parseNamedContexts(opts),
    subrequest: parseSubrequest(opts.requestid),
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

/** `add-hosts` (dockerui parseExtraHosts): CSV of `host=ip`, both lower-cased. */
export function parseExtraHosts(value: string): { host: string; ip: string }[] {
  if (value === '') return [];
  let fields: string[];
  try {
    fields = parseCsvRecord(value);
  } catch (err) {
    throw new InvalidArgumentError(`invalid add-hosts ${JSON.stringify(value)}: ${(err as Error).message}`);
  }
  return fields.map((field) => {
    const eq = field.indexOf('=');
    if (eq < 0) throw new InvalidArgumentError(`invalid key-value pair ${field}`);
    const host = field.slice(0, eq).toLowerCase();
    const ip = field.slice(eq + 1).toLowerCase();
    if (isIP(ip) === 0) throw new InvalidArgumentError(`failed to parse IP ${ip}`);
    return { host, ip };
  });
}

/** GOARCH of this machine, as image configs spell it. */
function hostPlatform(): Platform {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch;
  return { os: 'linux', architecture: arch };
}

/**
 * Refuses a target platform no worker can run, before anything is loaded (BuildKit would only fail
 * at the first RUN with an exec format error).
 */
export function checkPlatformSupported(
  platform: Platform,
  workerPlatforms: readonly { os: string; architecture: string; variant?: string }[] | undefined,
): void {
  const supported = workerPlatforms?.length ? workerPlatforms : [hostPlatform()];
  const ok = supported.some(
    (p) =>
      p.os === platform.os &&
      p.architecture === platform.architecture &&
      (platform.variant === undefined || (p.variant ?? '') === platform.variant),
  );
  if (ok) return;
  const names = supported.map((p) =>
    formatPlatform({ os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) }),
  );
  throw new InvalidArgumentError(
    `platform ${formatPlatform(platform)} is not supported by this kilnd (worker platforms: ${names.join(', ')})`,
  );
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
    if (opts.subrequest === 'frontend.subrequests.describe') return { metadata: describeSubrequests() };
    if (opts.platform) checkPlatformSupported(opts.platform, bridge.workerPlatforms);
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
    // Errors located in the Dockerfile carry its bytes; each op records the lines it came from.
    const located = (err: unknown): unknown => withSourceData(err, filename, source);
    const sourceRecorder = new SourceRecorder();
    const ast = (() => {
      try {
        return parseDockerfile(source, { file: filename });
      } catch (err) {
        throw located(err);
      }
    })();
    if (opts.subrequest === 'frontend.targets') {
      return { metadata: listTargets(parseInstructions(ast, filename).stages, source) };
    }
    // Checks (linter/): warnings now; with `# check=error=true` they fail the build after conversion.
    const lint = lintDockerfile(ast, {
      file: filename,
      buildArgs: opts.buildArgs,
      excludePatterns,
      ...(opts.target ? { target: opts.target } : {}),
      ...(opts.platform ? { platform: opts.platform } : {}),
    });
    reportLintWarnings(bridge, lint.warnings);
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
        extraHosts: opts.extraHosts,
        namedContexts: opts.namedContexts,
        loadContextExcludes: async ({ key, localName }, sig) => {
          const ignoreSource = local(localName, {
            sessionId,
            followPaths: ['.dockerignore'],
            sharedKeyHint: `context:${key}-.dockerignore`,
            differ: 'none',
            customName: `[context ${key}] load .dockerignore`,
          });
          const ref = await bridge.solve({ definition: marshal(ignoreSource) }, sig);
          const dt = await readOptional(bridge, ref, '.dockerignore', sig);
          return dt ? parseIgnoreFile(dt) : [];
        },
        buildArgs: opts.buildArgs,
        labels: opts.labels,
        excludePatterns,
        contextName: opts.contextKey,
        ...(opts.target ? { target: opts.target } : {}),
        ...(opts.platform ? { platform: opts.platform } : {}),
        ...(opts.noCache ? { noCache: opts.noCache } : {}),
        sourceRecorder,
      },
      signal,
    ).catch((err: unknown) => {
      throw located(err);
    });
    throwIfAborted(signal);
    if (opts.subrequest === 'frontend.outline') return { metadata: outlineResult(converted.outline, source) };
    if (lint.violation) throw located(lint.violation);
    const marshalOpts = opts.platform ? { platform: opts.platform } : {};
    const marshaled = marshalWithDigests(converted.state, marshalOpts);
    const definition = sourceRecorder.attach(marshaled.definition, marshaled.digests, filename, source);
    const metadata: Record<string, Uint8Array> = {
      'containerimage.config': serializeImageConfig(converted.image),
      // SOURCE_DATE_EPOCH reaches the exporter (image dates, layer mtimes) as BuildKit's does.
      ...(opts.buildArgs.SOURCE_DATE_EPOCH
        ? { 'source.date.epoch': new TextEncoder().encode(opts.buildArgs.SOURCE_DATE_EPOCH) }
        : {}),
    };
    // An all-scratch result has no ops: BuildKit returns an empty result (no ref) for it.
    if (definition.def.length === 0) return { metadata };
    const ref = await bridge.solve({ definition }, signal);
    return { ref, metadata };
  },
};
