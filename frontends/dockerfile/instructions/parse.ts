import { InvalidArgumentError } from '../../../proto/errors.js';
import type { InstructionNode, ParseResult } from '../parser/ast.js';
import { chompHeredocContent, parseHeredoc } from '../parser/heredoc.js';
import { InstructionFlags } from './bflag.js';
import type {
  Command,
  CommandLocation,
  CommandOf,
  HealthConfig,
  KeyValue,
  KeyValueOptional,
  ParsedDockerfile,
  SourceContent,
  SourcesAndDest,
  Stage,
} from './commands.js';
import { parseGoDuration } from './duration.js';
import { suggestion } from './suggest.js';

export const instructionNames = [
  'add',
  'arg',
  'cmd',
  'copy',
  'entrypoint',
  'env',
  'expose',
  'from',
  'healthcheck',
  'label',
  'maintainer',
  'onbuild',
  'run',
  'shell',
  'stopsignal',
  'user',
  'volume',
  'workdir',
] as const;

const stageNameRe = /^[a-z][a-z0-9\-_.]*$/;

interface Request {
  readonly node: InstructionNode;
  readonly name: string;
  readonly location: CommandLocation;
  readonly args: readonly string[];
  readonly flags: InstructionFlags;
}

function locationOf(node: InstructionNode, file: string): CommandLocation {
  return { file, line: node.startLine, endLine: node.endLine, text: node.original };
}

function fail(req: Pick<Request, 'location'>, message: string): never {
  throw new InvalidArgumentError(message, { location: req.location });
}

const exactlyOne = (req: Request): string => {
  if (req.args.length !== 1) fail(req, `${req.name} requires exactly one argument`);
  return req.args[0] as string;
};

const atLeastOne = (req: Request): void => {
  if (req.args.length === 0) fail(req, `${req.name} requires at least one argument`);
};

/** Comment lines above an instruction, as BuildKit keeps them (no `#`, trimmed). */
function commentLines(node: InstructionNode): string[] {
  return node.prevComment.map((c) => c.replace(/^\s*#/, '').trim());
}

/** `# <name> text` above a FROM or ARG documents it (BuildKit's getComment). */
function docComment(node: InstructionNode, name: string): string {
  if (name === '') return '';
  for (const line of commentLines(node)) if (line.startsWith(`${name} `)) return line.slice(name.length + 1);
  return '';
}

/** Turns one AST node into its typed command (FROM is handled by parseStageHeader). */
export function parseCommand(node: InstructionNode, file: string): Command {
  const location = locationOf(node, file);
  const keyword = node.keyword.toLowerCase();
  const name = keyword.toUpperCase();
  const req: Request = { node, name, location, args: node.args, flags: new InstructionFlags(name, location) };
  const base = { location, original: node.original };
  const noFlags = (): void => {
    req.flags.parse(node.flags);
  };
  switch (keyword) {
    case 'env':
    case 'label': {
      noFlags();
      const pairs = parseKeyValues(req);
      return keyword === 'env'
        ? { ...base, kind: 'env', env: pairs }
        : { ...base, kind: 'label', labels: pairs };
    }
    case 'maintainer':
      noFlags();
      return { ...base, kind: 'maintainer', maintainer: exactlyOne(req) };
    case 'copy': {
      req.flags
        .string('from')
        .string('chown')
        .string('chmod')
        .bool('link')
        .bool('parents')
        .strings('exclude');
      req.flags.parse(node.flags);
      return {
        ...base,
        kind: 'copy',
        params: parseSourcesAndDest(req),
        from: req.flags.getString('from'),
        chown: req.flags.getString('chown'),
        chmod: req.flags.getString('chmod'),
        link: req.flags.getBool('link'),
        parents: req.flags.getBool('parents'),
        excludes: req.flags.getStrings('exclude'),
      };
    }
    case 'add': {
      req.flags
        .string('chown')
        .string('chmod')
        .bool('link')
        .bool('keep-git-dir')
        .string('checksum')
        .bool('unpack')
        .strings('exclude');
      req.flags.parse(node.flags);
      return {
        ...base,
        kind: 'add',
        params: parseSourcesAndDest(req),
        chown: req.flags.getString('chown'),
        chmod: req.flags.getString('chmod'),
        link: req.flags.getBool('link'),
        keepGitDir: req.flags.getOptionalBool('keep-git-dir'),
        checksum: req.flags.getString('checksum'),
        unpack: req.flags.getOptionalBool('unpack'),
        excludes: req.flags.getStrings('exclude'),
      };
    }
    case 'workdir':
      noFlags();
      return { ...base, kind: 'workdir', path: exactlyOne(req) };
    case 'run': {
      req.flags.strings('mount').string('network', 'default').string('security', 'sandbox').strings('device');
      req.flags.parse(node.flags);
      const files = node.json
        ? []
        : node.heredocs.map((h) => ({ name: h.name, data: h.content, chomp: h.chomp }));
      return {
        ...base,
        kind: 'run',
        cmdLine: commandLine(node),
        prependShell: !node.json,
        files,
        mounts: req.flags.getStrings('mount'),
        network: req.flags.getString('network'),
        security: req.flags.getString('security'),
        flagsUsed: req.flags.used(),
      };
    }
    case 'cmd':
    case 'entrypoint':
      noFlags();
      return { ...base, kind: keyword, cmdLine: commandLine(node), prependShell: !node.json };
    case 'expose':
      noFlags();
      atLeastOne(req);
      return { ...base, kind: 'expose', ports: [...req.args] };
    case 'user':
      noFlags();
      return { ...base, kind: 'user', user: exactlyOne(req) };
    case 'volume': {
      noFlags();
      atLeastOne(req);
      const volumes = req.args.map((v) => v.trim());
      if (volumes.some((v) => v === '')) fail(req, 'VOLUME specified can not be an empty string');
      return { ...base, kind: 'volume', volumes };
    }
    case 'stopsignal':
      noFlags();
      return { ...base, kind: 'stopsignal', signal: exactlyOne(req) };
    case 'shell': {
      noFlags();
      const shell = commandLine(node);
      if (node.args.length === 0) fail(req, 'SHELL requires at least one argument');
      if (!node.json) fail(req, 'SHELL requires the arguments to be in JSON form');
      return { ...base, kind: 'shell', shell };
    }
    case 'healthcheck':
      return { ...base, kind: 'healthcheck', health: parseHealthcheck(req) };
    case 'arg':
      noFlags();
      return { ...base, kind: 'arg', args: parseArgs(req) };
    case 'onbuild':
      noFlags();
      return { ...base, kind: 'onbuild', expression: parseOnbuild(req) };
    case 'from':
      fail(req, 'FROM is not a stage command');
      break;
    default:
      break;
  }
  const written = node.original.trim().split(/\s+/)[0] || node.keyword;
  const hint = suggestion(written, instructionNames);
  throw new InvalidArgumentError(
    `unknown instruction: ${written}${hint ? ` (did you mean ${hint.toUpperCase()}?)` : ''}`,
    { location },
  );
}

function commandLine(node: InstructionNode): string[] {
  return node.json ? [...node.args] : [node.args.join(' ')];
}

function parseKeyValues(req: Request): KeyValue[] {
  if (req.args.length === 0) fail(req, `${req.name} requires at least one argument`);
  if (req.args.length % 3 !== 0) fail(req, `Bad input to ${req.name}, too many arguments`);
  const out: KeyValue[] = [];
  for (let i = 0; i < req.args.length; i += 3) {
    const key = req.args[i] ?? '';
    if (key === '') fail(req, `${req.name} names can not be blank`);
    out.push({ key, value: req.args[i + 1] ?? '', noDelim: req.args[i + 2] === '' });
  }
  return out;
}

function parseArgs(req: Request): KeyValueOptional[] {
  atLeastOne(req);
  return req.args.map((arg) => {
    const eq = arg.indexOf('=');
    const key = eq >= 0 ? arg.slice(0, eq) : arg;
    if (key === '') fail(req, 'ARG names can not be blank');
    return { key, value: eq >= 0 ? arg.slice(eq + 1) : undefined, docComment: docComment(req.node, key) };
  });
}

function parseSourcesAndDest(req: Request): SourcesAndDest {
  if (req.args.length < 2) {
    fail(
      req,
      `${req.name} requires at least two arguments, but only one was provided. Destination could not be determined`,
    );
  }
  const sourcePaths: string[] = [];
  const sourceContents: SourceContent[] = [];
  for (const src of req.args.slice(0, -1)) {
    const h = safeHeredoc(src);
    if (h) {
      const body = req.node.heredocs[sourceContents.length];
      if (!body) fail(req, `${req.name}: heredoc ${h.name} has no body`);
      const data = h.chomp ? chompHeredocContent(body.content) : body.content;
      sourceContents.push({ path: h.name, data, expand: h.expand });
    } else {
      sourcePaths.push(src);
    }
  }
  const destPath = req.args[req.args.length - 1] as string;
  if (safeHeredoc(destPath)) fail(req, `${req.name} cannot accept a heredoc as a destination`);
  return { sourcePaths, sourceContents, destPath };
}

function safeHeredoc(word: string): ReturnType<typeof parseHeredoc> {
  try {
    return parseHeredoc(word);
  } catch {
    return undefined;
  }
}

function parseHealthcheck(req: Request): HealthConfig {
  atLeastOne(req);
  const type = (req.args[0] ?? '').toUpperCase();
  const none = { interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 };
  if (type === 'NONE') {
    req.flags.parse(req.node.flags);
    if (req.args.length !== 1) fail(req, 'HEALTHCHECK NONE takes no arguments');
    return { test: ['NONE'], ...none };
  }
  if (type !== 'CMD') fail(req, `Unknown type ${JSON.stringify(type)} in HEALTHCHECK (try CMD)`);
  req.flags
    .string('interval')
    .string('timeout')
    .string('start-period')
    .string('start-interval')
    .string('retries');
  req.flags.parse(req.node.flags);
  const rest = req.args.slice(1);
  const test = req.node.json ? ['CMD', ...rest] : ['CMD-SHELL', rest.join(' ')];
  const duration = (flag: string): number => {
    const text = req.flags.getString(flag);
    if (text === '') return 0;
    const ns = parseGoDuration(text);
    if (ns === undefined) fail(req, `time: invalid duration ${JSON.stringify(text)}`);
    if (ns < 0) fail(req, `Interval ${JSON.stringify(flag)} cannot be negative`);
    if (ns !== 0 && ns < 1e6) fail(req, `Interval ${JSON.stringify(flag)} cannot be less than 1ms`);
    return ns;
  };
  let retries = 0;
  const retriesText = req.flags.getString('retries');
  if (retriesText !== '') {
    if (!/^[-+]?\d+$/.test(retriesText))
      fail(req, `strconv.ParseInt: parsing ${JSON.stringify(retriesText)}: invalid syntax`);
    retries = Number(retriesText);
    if (retries < 0) fail(req, '--retries cannot be negative');
  }
  return {
    test,
    interval: duration('interval'),
    timeout: duration('timeout'),
    startPeriod: duration('start-period'),
    startInterval: duration('start-interval'),
    retries,
  };
}

function parseOnbuild(req: Request): string {
  const trigger = req.node.trigger?.keyword ?? req.args[0];
  if (trigger === undefined || (req.args.length === 0 && !req.node.trigger)) {
    fail(req, 'ONBUILD requires at least one argument');
  }
  const upper = trigger.trim().split(/\s+/)[0]?.toUpperCase() ?? '';
  if (upper === 'ONBUILD') fail(req, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (upper === 'MAINTAINER' || upper === 'FROM') fail(req, `${upper} isn't allowed as an ONBUILD trigger`);
  return req.node.original.replace(/^\s*onbuild\s*/i, '');
}

function parseStageHeader(node: InstructionNode, file: string): Omit<Stage, 'commands'> {
  const location = locationOf(node, file);
  const req: Request = {
    node,
    name: 'FROM',
    location,
    args: node.args,
    flags: new InstructionFlags('FROM', location),
  };
  req.flags.string('platform');
  req.flags.parse(node.flags);
  let name = '';
  if (node.args.length === 3 && (node.args[1] ?? '').toLowerCase() === 'as') {
    name = (node.args[2] ?? '').toLowerCase();
    if (!stageNameRe.test(name)) {
      fail(
        req,
        `invalid name for build stage: ${JSON.stringify(node.args[2])}, name can't start with a number or contain symbols`,
      );
    }
  } else if (node.args.length !== 1) {
    fail(req, 'FROM requires either one or three arguments');
  }
  return {
    name,
    baseName: node.args[0] as string,
    platform: req.flags.getString('platform'),
    location,
    original: node.original.trim(),
    docComment: docComment(node, name),
  };
}

/** AST → stages (each FROM and what follows) plus the global ARGs before the first FROM. */
export function parseInstructions(ast: ParseResult, file: string): ParsedDockerfile {
  const stages: Stage[] = [];
  const metaArgs: CommandOf<'arg'>[] = [];
  let current: { header: Omit<Stage, 'commands'>; commands: Command[] } | undefined;
  const flush = (): void => {
    if (current) stages.push({ ...current.header, commands: current.commands });
  };
  for (const node of ast.children) {
    if (node.keyword.toLowerCase() === 'from') {
      flush();
      current = { header: parseStageHeader(node, file), commands: [] };
      continue;
    }
    const cmd = parseCommand(node, file);
    if (current) current.commands.push(cmd);
    else if (cmd.kind === 'arg') metaArgs.push(cmd);
    else {
      throw new InvalidArgumentError('no build stage in current context', { location: cmd.location });
    }
  }
  flush();
  return { stages, metaArgs };
}
