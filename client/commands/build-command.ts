import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { decodeMessage, digestOf } from '../../proto/codec.js';
import { InvalidArgumentError, UnimplementedError } from '../../proto/errors.js';
import type { Policy } from '../../proto/generated/moby/buildkit/v1/sourcepolicy/Policy.js';
import type { Definition, Definition__Output } from '../../proto/generated/pb/Definition.js';
import type { OpMetadata } from '../../proto/generated/pb/OpMetadata.js';
import { runBuild } from '../build.js';
import { writeMetadataFile } from '../metadata-file.js';
import { createProgressDisplay, parseProgressMode } from '../progress/display.js';
import { solveStatusToJson } from '../progress/solve-status.js';
import { type FlagSpec, flagList, parseFlags } from './args.js';
import {
  parseAllow,
  parseAttrMap,
  parseExportCache,
  parseImportCache,
  parseOutputs,
  parseSecret,
  parseSsh,
} from './build-options.js';
import type { CommandContext } from './context.js';
import { globalFlags } from './global-flags.js';

export const buildFlags: readonly FlagSpec[] = [
  {
    name: 'output',
    aliases: ['o'],
    kind: 'strings',
    usage:
      'Define exports for build result, e.g. --output type=image,name=docker.io/username/image,push=true',
  },
  {
    name: 'progress',
    kind: 'string',
    usage: 'Set type of progress (auto, plain, tty, rawjson). Use plain to show container output',
  },
  { name: 'trace', kind: 'string', usage: 'Path to trace file. Defaults to no tracing.' },
  { name: 'local', kind: 'strings', usage: 'Allow build access to the local directory' },
  { name: 'oci-layout', kind: 'strings', usage: 'Allow build access to the local OCI layout' },
  { name: 'frontend', kind: 'string', usage: 'Define frontend used for build' },
  {
    name: 'opt',
    kind: 'strings',
    usage: 'Define custom options for frontend, e.g. --opt target=foo --opt build-arg:foo=bar',
  },
  { name: 'frontend-opt', kind: 'strings', usage: 'Deprecated: use --opt', hidden: true },
  { name: 'no-cache', kind: 'bool', usage: 'Disable cache for all the vertices' },
  {
    name: 'export-cache',
    kind: 'strings',
    usage:
      'Export build cache, e.g. --export-cache type=registry,ref=example.com/foo/bar, or --export-cache type=local,dest=path/to/dir',
  },
  {
    name: 'import-cache',
    kind: 'strings',
    usage:
      'Import build cache, e.g. --import-cache type=registry,ref=example.com/foo/bar, or --import-cache type=local,src=path/to/dir',
  },
  {
    name: 'secret',
    kind: 'strings',
    usage: 'Secret value exposed to the build. Format id=secretname,src=filepath',
  },
  {
    name: 'allow',
    kind: 'strings',
    usage: 'Allow extra privileged entitlement, e.g. network.host, security.insecure',
  },
  {
    name: 'ssh',
    kind: 'strings',
    usage: 'Allow forwarding SSH agent to the builder. Format default|<id>[=<socket>|<key>[,<key>]]',
  },
  {
    name: 'metadata-file',
    kind: 'string',
    usage: 'Output build metadata (e.g., image digest) to a file as JSON',
  },
  { name: 'source-policy-file', kind: 'string', usage: 'Read source policy file from a JSON file' },
  { name: 'ref-file', kind: 'string', usage: 'Write build ref to a file' },
  {
    name: 'print',
    kind: 'string',
    usage:
      'Ask the frontend a question instead of building (outline, targets, subrequests.describe), as buildx --print',
  },
  { name: 'format', kind: 'string', usage: 'Format of --print output: text (default) or json' },
];

/** `--print outline` → `--opt requestid=frontend.outline` (buildx's printFunc). */
export function printRequestId(print: string): string {
  const known = ['outline', 'targets', 'subrequests.describe'];
  if (!known.includes(print)) {
    throw new InvalidArgumentError(
      `invalid --print value ${JSON.stringify(print)} (want ${known.join(', ')})`,
    );
  }
  return `frontend.${print}`;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c));
  return Buffer.concat(chunks);
}

/** Marshaled pb.Definition from stdin; `--no-cache` marks every op ignore_cache, as buildctl does. */
export function decodeDefinition(bytes: Uint8Array, noCache: boolean): Definition {
  let def: Definition__Output;
  try {
    def = decodeMessage<Definition__Output>('pb.Definition', bytes);
  } catch (err) {
    throw new InvalidArgumentError(`failed to parse input: ${(err as Error).message}`, { cause: err });
  }
  if (def.def.length === 0)
    throw new InvalidArgumentError('empty definition sent to build. Specify --frontend instead?');
  if (!noCache) return def;
  const metadata: Record<string, OpMetadata> = { ...def.metadata };
  for (const op of def.def) {
    const dgst = digestOf(op);
    metadata[dgst] = { ...(metadata[dgst] ?? {}), ignore_cache: true };
  }
  return { ...def, metadata };
}

const actions: Readonly<Record<string, 0 | 1 | 2>> = { ALLOW: 0, DENY: 1, CONVERT: 2 };
const matchTypes: Readonly<Record<string, 0 | 1 | 2>> = { WILDCARD: 0, EXACT: 1, REGEX: 2 };
const conditions: Readonly<Record<string, 0 | 1 | 2>> = { EQUAL: 0, NOTEQUAL: 1, MATCHES: 2 };

interface PolicyJson {
  version?: number;
  rules?: {
    action?: string | number;
    selector?: {
      identifier?: string;
      match_type?: string | number;
      constraints?: { key?: string; value?: string; condition?: string | number }[];
    };
    updates?: { identifier?: string; attrs?: Record<string, string> };
  }[];
}

function enumValue(
  table: Readonly<Record<string, 0 | 1 | 2>>,
  v: string | number | undefined,
  what: string,
): 0 | 1 | 2 {
  if (v === undefined) return 0;
  if (v === 0 || v === 1 || v === 2) return v;
  const n = typeof v === 'string' ? table[v.toUpperCase()] : undefined;
  if (n === undefined) throw new InvalidArgumentError(`invalid source policy ${what} ${v}`);
  return n;
}

/** `--source-policy-file`: BuildKit's JSON Policy (enum names or numbers). */
export function parseSourcePolicy(text: string): Policy {
  let raw: PolicyJson;
  try {
    raw = JSON.parse(text) as PolicyJson;
  } catch (err) {
    throw new InvalidArgumentError(`failed to parse source policy: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return {
    version: raw.version ?? 0,
    rules: (raw.rules ?? []).map((r) => ({
      action: enumValue(actions, r.action, 'action'),
      selector: {
        identifier: r.selector?.identifier ?? '',
        match_type: enumValue(matchTypes, r.selector?.match_type, 'match type'),
        constraints: (r.selector?.constraints ?? []).map((c) => ({
          key: c.key ?? '',
          value: c.value ?? '',
          condition: enumValue(conditions, c.condition, 'condition'),
        })),
      },
      updates:
        r.updates === undefined
          ? null
          : { identifier: r.updates.identifier ?? '', attrs: r.updates.attrs ?? {} },
    })),
  };
}

/** `kilnctl build` (alias `b`): buildctl's flags, flow and output. */
export async function buildCommand(ctx: CommandContext, args: readonly string[]): Promise<void> {
  const flags = parseFlags(args, [...buildFlags, ...globalFlags]);
  const { io } = ctx;
  const progress = parseProgressMode(flags.strings.get('progress') ?? 'auto');
  const exporter = parseOutputs(flagList(flags, 'output'), { stdoutIsTTY: io.stdout.isTTY === true });
  const cacheExports = parseExportCache(flagList(flags, 'export-cache'), io.env);
  const cacheImports = parseImportCache(flagList(flags, 'import-cache'), io.env);
  const secrets = flagList(flags, 'secret').map((s) => parseSecret(s, io.env));
  const ssh = flagList(flags, 'ssh').map(parseSsh);
  const entitlements = parseAllow(flagList(flags, 'allow'));
  let frontendAttrs: Record<string, string>;
  let localDirs: Record<string, string>;
  try {
    frontendAttrs = {
      ...parseAttrMap(flagList(flags, 'frontend-opt')),
      ...parseAttrMap(flagList(flags, 'opt')),
    };
  } catch (err) {
    throw new InvalidArgumentError(`invalid opt: ${(err as Error).message}`, { cause: err });
  }
  try {
    localDirs = parseAttrMap(flagList(flags, 'local'));
  } catch (err) {
    throw new InvalidArgumentError(`invalid local: ${(err as Error).message}`, { cause: err });
  }
  if (flagList(flags, 'oci-layout').length > 0)
    throw new UnimplementedError('--oci-layout is not supported by kilnctl yet');
  const print = flags.strings.get('print');
  const printFormat = flags.strings.get('format') ?? 'text';
  if (printFormat !== 'text' && printFormat !== 'json')
    throw new InvalidArgumentError(`invalid --format ${JSON.stringify(printFormat)} (want text or json)`);
  if (print !== undefined) {
    frontendAttrs.requestid = printRequestId(print);
    frontendAttrs['frontend.caps'] = 'moby.buildkit.frontend.subrequests';
  }
  const noCache = flags.bools.get('no-cache') === true;
  const frontend = flags.strings.get('frontend') ?? '';
  const sourcePolicyFile = flags.strings.get('source-policy-file');
  const sourcePolicy =
    sourcePolicyFile === undefined ? undefined : parseSourcePolicy(await readFile(sourcePolicyFile, 'utf8'));

  let definition: Definition | undefined;
  if (frontend === '') {
    if (io.stdin.isTTY === true)
      throw new InvalidArgumentError('please specify --frontend or pipe LLB definition to stdin');
    definition = decodeDefinition(await readAll(io.stdin), noCache);
  } else if (noCache) {
    frontendAttrs['no-cache'] = '';
  }

  const display = createProgressDisplay(progress, io.stderr);
  const traceFile = flags.strings.get('trace');
  let traceQueue: Promise<void> = Promise.resolve();
  const metadataFile = flags.strings.get('metadata-file');
  const refFile = flags.strings.get('ref-file');
  let result: Awaited<ReturnType<typeof runBuild>> | undefined;
  using conn = await ctx.connect();
  try {
    result = await runBuild(conn, {
      frontend,
      ...(definition === undefined ? {} : { definition }),
      frontendAttrs,
      localDirs,
      ...(exporter === undefined ? {} : { exporter }),
      cacheExports,
      cacheImports,
      secrets,
      ssh,
      entitlements,
      ...(sourcePolicy === undefined ? {} : { sourcePolicy }),
      signal: ctx.signal,
      onStatus: (s) => {
        display.update(s);
        if (traceFile !== undefined) {
          const line = `${JSON.stringify(solveStatusToJson(s))}\n`;
          traceQueue = traceQueue.then(() => appendFile(traceFile, line, { mode: 0o600 }));
        }
      },
      onWarning: (m) => io.stderr.write(`WARNING: ${m}\n`),
    });
  } finally {
    display.done();
    await traceQueue;
  }
  if (refFile !== undefined) await writeFile(refFile, result.ref);
  if (ctx.debug) {
    for (const [k, v] of Object.entries(result.exporterResponse))
      io.stderr.write(`exporter response: ${k}=${v}\n`);
  }
  if (metadataFile !== undefined) await writeMetadataFile(metadataFile, result.exporterResponse);
  // Subrequests (e.g. `--opt requestid=frontend.outline`) answer in the result metadata.
  if (frontendAttrs.requestid !== undefined) {
    const json = result.resultMetadata['result.json'];
    const text =
      printFormat === 'json'
        ? json
        : (result.resultMetadata['result.txt'] ?? result.resultMetadata['result.json']);
    if (text !== undefined) {
      const out = text.toString('utf8');
      io.stdout.write(out.endsWith('\n') || out === '' ? out : `${out}\n`);
    }
  }
}
