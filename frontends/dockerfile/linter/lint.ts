import { posix } from 'node:path';
import { defaultPlatform, formatPlatform, type Platform } from '../../../client/llb/platform.js';
import { InvalidArgumentError, type SourceLocation } from '../../../proto/errors.js';
import { PatternMatcher } from '../../../worker/fs/patternmatcher.js';
import type { Command, CommandOf, Stage } from '../instructions/commands.js';
import { parseCommand, parseInstructions } from '../instructions/parse.js';
import { suggestion } from '../instructions/suggest.js';
import type { InstructionNode, ParseResult } from '../parser/ast.js';
import { ShellLex } from '../shell/lex.js';
import {
  type CheckOptions,
  defaultCheckOptions,
  inlineCheckOptions,
  parseCheckOptions,
} from './check-options.js';
import { type AnyLintRule, LintRules } from './rules.js';

/** One finding, shaped like BuildKit's lint warning (rule, description, url, detail, location). */
export interface LintWarning {
  readonly ruleName: string;
  readonly description: string;
  readonly url: string;
  readonly detail: string;
  readonly location: SourceLocation & { readonly endLine: number };
}

export interface LintOptions {
  readonly file: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly target?: string;
  readonly platform?: Platform;
  /** .dockerignore patterns of the build context, for CopyIgnoredFile. */
  readonly excludePatterns?: readonly string[];
  /** Lint every stage (the lint subrequest) instead of those the target reaches (a build). */
  readonly allStages?: boolean;
}

export interface LintResult {
  readonly warnings: readonly LintWarning[];
  readonly options: CheckOptions;
  /** With `error=true` and at least one warning: the error that fails the build. */
  readonly violation: LintViolationError | undefined;
}

/** `error=true` and a check fired (BuildKit's linter.Error). */
export class LintViolationError extends InvalidArgumentError {
  readonly rules: readonly string[];
  constructor(rules: readonly string[], location: SourceLocation | undefined) {
    super(`lint violation found for rules: ${rules.join(', ')}`, location ? { location } : undefined);
    this.name = 'LintViolationError';
    this.rules = rules;
  }
}

/** The check options of a build: BUILDKIT_DOCKERFILE_CHECK replaces the `# check=` directive. */
export function checkOptionsFor(ast: ParseResult, buildArgs: Readonly<Record<string, string>>): CheckOptions {
  const fromArg = buildArgs.BUILDKIT_DOCKERFILE_CHECK;
  if (fromArg !== undefined) return parseCheckOptions(fromArg);
  return ast.directives.check === undefined ? defaultCheckOptions : parseCheckOptions(ast.directives.check);
}

const secretDeny =
  /(?:_|^)(?:apikey|credentials?|key|password|pword|passwd|secret|token)(?:_|$)|(?:_|^)auth$/i;
const secretAllow = /(?:_|^)(?:public|file)(?:_|$)/i;
const reservedStageNames = new Set(['context', 'scratch']);
// docker/distribution reference grammar: [domain/]path[:tag][@digest].
const referenceRe =
  /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$/;

interface ParsedStage {
  readonly node: InstructionNode;
  readonly header: Omit<Stage, 'commands'>;
  readonly commands: { readonly cmd: Command; readonly node: InstructionNode }[];
}

/** What dispatching a stage leaves for the stages built on it. */
interface StageFacts {
  /** undefined: a registry base image whose environment the linter does not know. */
  readonly vars: Map<string, string> | undefined;
  readonly declared: Set<string>;
  workdirSet: boolean;
  shellSet: boolean;
}

class Reporter {
  readonly warnings: LintWarning[] = [];
  readonly called: string[] = [];
  constructor(
    private readonly options: CheckOptions,
    private readonly file: string,
  ) {}

  run(rule: AnyLintRule, node: InstructionNode | { line: number; endLine: number }, detail: string): void {
    if (!enabled(this.options, rule)) return;
    const inline = 'prevComment' in node ? inlineCheckOptions(node.prevComment) : undefined;
    if (inline && !enabled(inline, rule)) return;
    const line = 'startLine' in node ? node.startLine : node.line;
    const endLine = node.endLine;
    this.called.push(rule.name);
    this.warnings.push({
      ruleName: rule.name,
      description: rule.description,
      url: rule.url,
      detail,
      location: { file: this.file, line, endLine, ...('original' in node ? { text: node.original } : {}) },
    });
  }
}

function enabled(o: CheckOptions, rule: AnyLintRule): boolean {
  if (rule.experimental) return o.experimentalAll || o.experimental.has(rule.name);
  return !o.skipAll && !o.skip.has(rule.name);
}

function defaultArgs(p: Platform): Map<string, string> {
  const plat = formatPlatform(p);
  return new Map([
    ['BUILDPLATFORM', plat],
    ['BUILDOS', p.os],
    ['BUILDARCH', p.architecture],
    ['BUILDVARIANT', p.variant ?? ''],
    ['TARGETPLATFORM', plat],
    ['TARGETOS', p.os],
    ['TARGETARCH', p.architecture],
    ['TARGETVARIANT', p.variant ?? ''],
  ]);
}

function isSelfConsistent(s: string): boolean {
  return s === s.toLowerCase() || s === s.toUpperCase();
}

/**
 * Runs the Dockerfile checks: those BuildKit runs while parsing instructions (every stage), those it
 * runs on stage headers, and those it runs while dispatching (only the stages the target reaches,
 * unless `allStages`). A syntax error stops the walk: the warnings found before it are kept and the
 * conversion reports the error itself.
 */
export function lintDockerfile(ast: ParseResult, opts: LintOptions): LintResult {
  const buildArgs = opts.buildArgs ?? {};
  const options = checkOptionsFor(ast, buildArgs);
  const r = new Reporter(options, opts.file);
  const R = LintRules;

  for (const w of ast.warnings) {
    if (w.url?.includes('33719') || w.short.startsWith('Empty continuation')) {
      r.run(R.NoEmptyContinuation, { line: w.line, endLine: w.line }, R.NoEmptyContinuation.format());
    }
  }

  // Instruction parsing, with the checks BuildKit runs there.
  const stages: ParsedStage[] = [];
  const metaArgs: { cmd: CommandOf<'arg'>; node: InstructionNode }[] = [];
  let syntaxError = false;
  for (const node of ast.children) {
    try {
      if (node.keyword === 'from') {
        const parsed = parseInstructions({ ...ast, children: [node] }, opts.file).stages[0];
        if (!parsed) continue;
        checkFrom(r, node);
        stages.push({ node, header: parsed, commands: [] });
        continue;
      }
      const cmd = parseCommand(node, opts.file);
      checkParsedCommand(r, cmd, node);
      const current = stages.at(-1);
      if (current) current.commands.push({ cmd, node });
      else if (cmd.kind === 'arg') metaArgs.push({ cmd, node });
      else break;
    } catch {
      syntaxError = true;
      break;
    }
  }
  if (!syntaxError) lintStages(r, stages, metaArgs, opts);
  const rules = [...new Set(r.called)];
  const first = r.warnings[0];
  const violation =
    options.error && rules.length > 0 && !syntaxError
      ? new LintViolationError(rules, first?.location)
      : undefined;
  return { warnings: r.warnings, options, violation };
}

function checkFrom(r: Reporter, node: InstructionNode): void {
  const R = LintRules;
  const raw = node.rawKeyword ?? node.keyword;
  const as = node.args[1];
  const name = node.args[2];
  if (node.args.length === 3 && as !== undefined && name !== undefined) {
    if (name !== name.toLowerCase()) r.run(R.StageNameCasing, node, R.StageNameCasing.format(name));
    const lower = raw === raw.toLowerCase();
    const upper = raw === raw.toUpperCase();
    if ((lower && as !== as.toLowerCase()) || (upper && !lower && as !== as.toUpperCase())) {
      r.run(R.FromAsCasing, node, R.FromAsCasing.format(raw, as));
    }
  }
  const stageName = name?.toLowerCase() ?? '';
  checkDescription(r, node, 'FROM', stageName === '' ? [] : [stageName]);
}

/** InvalidDefinitionDescription: the comment right above a FROM/ARG must start with its name. */
function checkDescription(r: Reporter, node: InstructionNode, instruction: string, names: string[]): void {
  if (names.length === 0 || node.prevComment.length === 0) return;
  const first = node.prevComment[0] ?? '';
  if (/^check\s*=/.test(first)) return;
  const word = first.split(/\s+/)[0] ?? '';
  if (names.includes(word)) return;
  const shown = names.length === 1 ? (names[0] ?? '') : '<arg_key>';
  r.run(
    LintRules.InvalidDefinitionDescription,
    node,
    LintRules.InvalidDefinitionDescription.format(instruction, shown),
  );
}

function checkParsedCommand(r: Reporter, cmd: Command, node: InstructionNode): void {
  const R = LintRules;
  switch (cmd.kind) {
    case 'maintainer':
      r.run(R.MaintainerDeprecated, node, R.MaintainerDeprecated.format());
      return;
    case 'expose':
      for (const p of cmd.ports) {
        if (p.includes(':')) r.run(R.ExposeInvalidFormat, node, R.ExposeInvalidFormat.format(p));
        const slash = p.lastIndexOf('/');
        if (slash >= 0) {
          const proto = p.slice(slash + 1);
          if (proto !== proto.toLowerCase()) r.run(R.ExposeProtoCasing, node, R.ExposeProtoCasing.format(p));
        }
      }
      return;
    case 'arg':
      checkDescription(
        r,
        node,
        'ARG',
        cmd.args.map((a) => a.key),
      );
      return;
    default:
      return;
  }
}

function lintStages(
  r: Reporter,
  stages: readonly ParsedStage[],
  metaArgs: readonly { cmd: CommandOf<'arg'>; node: InstructionNode }[],
  opts: LintOptions,
): void {
  const R = LintRules;
  if (stages.length === 0) return;
  const buildArgs = opts.buildArgs ?? {};
  const shlex = new ShellLex();

  // Stage names, then instruction casing across the file.
  const seen = new Set<string>();
  for (const s of stages) {
    const name = s.header.name;
    if (name === '') continue;
    if (reservedStageNames.has(name)) r.run(R.ReservedStageName, s.node, R.ReservedStageName.format(name));
    if (seen.has(name)) r.run(R.DuplicateStageName, s.node, R.DuplicateStageName.format(name));
    seen.add(name);
  }
  const keywords = stages.flatMap((s) => [s.node, ...s.commands.map((c) => c.node)]);
  let lower = 0;
  let upper = 0;
  for (const n of keywords) {
    const k = n.rawKeyword ?? n.keyword;
    if (!isSelfConsistent(k)) continue;
    if (k === k.toLowerCase()) lower++;
    else upper++;
  }
  const majorityLower = lower > upper;
  for (const n of keywords) {
    const k = n.rawKeyword ?? n.keyword;
    const casing =
      majorityLower && k !== k.toLowerCase()
        ? 'lowercase'
        : !majorityLower && k !== k.toUpperCase()
          ? 'uppercase'
          : undefined;
    if (casing) r.run(R.ConsistentInstructionCasing, n, R.ConsistentInstructionCasing.format(k, casing));
  }

  // Global ARGs: first with defaults only (InvalidDefaultArgInFrom), then with the build args.
  const platform = opts.platform ?? defaultPlatform;
  const metaArgsWith = (values: Readonly<Record<string, string>>): Map<string, string> => {
    const args = defaultArgs(platform);
    for (const { cmd } of metaArgs) {
      for (const kv of cmd.args) {
        let v: string | undefined;
        if (Object.hasOwn(values, kv.key)) v = values[kv.key];
        else if (kv.value !== undefined) v = safeExpand(shlex, kv.value, args)?.result;
        if (v !== undefined) args.set(kv.key, v);
      }
    }
    return args;
  };
  const defaults = metaArgsWith({});
  for (const s of stages) {
    const m = safeExpand(shlex, s.header.baseName, defaults);
    if (!m) break;
    if (!referenceRe.test(m.result)) {
      r.run(R.InvalidDefaultArgInFrom, s.node, R.InvalidDefaultArgInFrom.format(s.header.baseName));
    }
  }
  const globalArgs = metaArgsWith(buildArgs);
  const known = new Set([...globalArgs.keys(), ...metaArgs.flatMap(({ cmd }) => cmd.args.map((a) => a.key))]);
  const reportFromArgs = (s: ParsedStage, unmatched: ReadonlySet<string>): void => {
    for (const arg of unmatched) {
      if (known.has(arg)) continue;
      r.run(R.UndefinedArgInFrom, s.node, R.UndefinedArgInFrom.format(arg, suggestion(arg, [...known])));
    }
  };
  for (const s of stages) {
    const base = safeExpand(shlex, s.header.baseName, globalArgs);
    if (base) reportFromArgs(s, base.unmatched);
    const plat = s.header.platform;
    if (plat === '') continue;
    const m = safeExpand(shlex, plat, globalArgs);
    if (!m) continue;
    reportFromArgs(s, m.unmatched);
    if (m.matched.size === 1 && m.unmatched.size === 0 && m.matched.has('TARGETPLATFORM')) {
      if (m.result === globalArgs.get('TARGETPLATFORM')) {
        r.run(R.RedundantTargetPlatform, s.node, R.RedundantTargetPlatform.format(plat));
      }
    }
    if (m.matched.size === 0 && m.unmatched.size === 0) {
      const [os = '', arch = ''] = m.result.split('/');
      if (os !== '' && arch !== '' && !s.header.name.includes(os) && !s.header.name.includes(arch)) {
        r.run(R.FromPlatformFlagConstDisallowed, s.node, R.FromPlatformFlagConstDisallowed.format(m.result));
      }
    }
  }

  // The stages a build dispatches: the target and what it reaches.
  const byName = new Map<string, ParsedStage>();
  for (const s of stages) if (s.header.name) byName.set(s.header.name, s);
  const baseOf = (s: ParsedStage): ParsedStage | undefined => {
    const m = safeExpand(shlex, s.header.baseName, globalArgs);
    const found = byName.get((m?.result ?? s.header.baseName).toLowerCase());
    return found && stages.indexOf(found) < stages.indexOf(s) ? found : undefined;
  };
  const depsOf = (s: ParsedStage): ParsedStage[] => {
    const out: ParsedStage[] = [];
    const b = baseOf(s);
    if (b) out.push(b);
    for (const { cmd } of s.commands) {
      const froms: string[] = [];
      if (cmd.kind === 'copy' && cmd.from !== '') froms.push(cmd.from);
      if (cmd.kind === 'run') {
        for (const m of cmd.mounts) {
          const f = /(?:^|,)from=([^,]+)/.exec(m)?.[1];
          if (f) froms.push(f);
        }
      }
      for (const f of froms) {
        const dep = /^\d+$/.test(f) ? stages[Number(f)] : byName.get(f.toLowerCase());
        if (dep) out.push(dep);
      }
    }
    return out;
  };
  let target = stages.at(-1) as ParsedStage;
  if (opts.target) target = byName.get(opts.target.toLowerCase()) ?? target;
  const reachable = new Set<ParsedStage>();
  const visit = (s: ParsedStage): void => {
    if (reachable.has(s)) return;
    reachable.add(s);
    for (const d of depsOf(s)) visit(d);
  };
  visit(target);

  const matcher = opts.excludePatterns?.length ? PatternMatcher.create(opts.excludePatterns) : undefined;
  const reincludes = opts.excludePatterns?.some((p) => p.trim().startsWith('!')) ?? false;
  const facts = new Map<ParsedStage, StageFacts>();
  for (const s of stages) {
    if (!opts.allStages && !reachable.has(s)) continue;
    const base = baseOf(s);
    const baseFacts = base ? facts.get(base) : undefined;
    const isScratch =
      s.header.baseName.toLowerCase() === 'scratch' ||
      safeExpand(shlex, s.header.baseName, globalArgs)?.result === 'scratch';
    const f: StageFacts = baseFacts
      ? {
          vars: baseFacts.vars ? new Map(baseFacts.vars) : undefined,
          declared: new Set(baseFacts.declared),
          workdirSet: baseFacts.workdirSet,
          shellSet: baseFacts.shellSet,
        }
      : {
          vars:
            isScratch || base
              ? new Map([['PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']])
              : undefined,
          declared: new Set(),
          workdirSet: false,
          shellSet: false,
        };
    dispatchStage(r, s, f, { shlex, buildArgs, globalArgs, matcher, reincludes });
    facts.set(s, f);
  }
}

interface DispatchEnv {
  readonly shlex: ShellLex;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly globalArgs: ReadonlyMap<string, string>;
  readonly matcher: PatternMatcher | undefined;
  readonly reincludes: boolean;
}

function safeExpand(
  shlex: ShellLex,
  word: string,
  vars: ReadonlyMap<string, string>,
): { result: string; matched: Set<string>; unmatched: Set<string> } | undefined {
  try {
    return shlex.processWordWithMatches(word, (k) => vars.get(k));
  } catch {
    return undefined;
  }
}

function dispatchStage(r: Reporter, s: ParsedStage, f: StageFacts, env: DispatchEnv): void {
  const R = LintRules;
  // The last CMD / ENTRYPOINT / HEALTHCHECK of the stage (MultipleInstructionsDisallowed).
  const onceAt: Partial<Record<'cmd' | 'entrypoint' | 'healthcheck', InstructionNode>> = {};
  for (const { cmd, node } of s.commands) {
    // Undefined variables in the words BuildKit expands before dispatching the instruction.
    const expandWord = (word: string, lex = env.shlex): string => {
      if (!f.vars) return word;
      const m = safeExpand(lex, word, f.vars);
      if (!m) return word;
      for (const v of m.unmatched) {
        if (f.declared.has(v)) continue;
        r.run(R.UndefinedVar, node, R.UndefinedVar.format(v, suggestion(v, [...f.vars.keys()])));
      }
      return m.result;
    };
    const secret = (instruction: string, key: string): void => {
      if (secretDeny.test(key) && !secretAllow.test(key)) {
        r.run(R.SecretsUsedInArgOrEnv, node, R.SecretsUsedInArgOrEnv.format(instruction, key));
      }
    };
    const tracked = (kind: keyof typeof onceAt, name: string): void => {
      const prev = onceAt[kind];
      if (prev) r.run(R.MultipleInstructionsDisallowed, prev, R.MultipleInstructionsDisallowed.format(name));
      onceAt[kind] = node;
    };
    switch (cmd.kind) {
      case 'env': {
        const pairs = cmd.env.map((kv) => ({ kv, key: expandWord(kv.key), value: expandWord(kv.value) }));
        for (const { kv, key, value } of pairs) {
          if (kv.noDelim) r.run(R.LegacyKeyValueFormat, node, R.LegacyKeyValueFormat.format('ENV'));
          secret('ENV', key);
          f.vars?.set(key, value);
        }
        break;
      }
      case 'label':
        for (const kv of cmd.labels) {
          expandWord(kv.key);
          expandWord(kv.value);
          if (kv.noDelim) r.run(R.LegacyKeyValueFormat, node, R.LegacyKeyValueFormat.format('LABEL'));
        }
        break;
      case 'arg':
        for (const a of cmd.args) {
          secret('ARG', a.key);
          let value: string | undefined;
          if (Object.hasOwn(env.buildArgs, a.key)) value = env.buildArgs[a.key];
          else if (a.value !== undefined) value = expandWord(a.value);
          else value = env.globalArgs.get(a.key);
          if (value !== undefined) f.vars?.set(a.key, value);
          f.declared.add(a.key);
        }
        break;
      case 'workdir': {
        const path = expandWord(cmd.path);
        if (!f.workdirSet && !path.startsWith('/')) {
          r.run(R.WorkdirRelativePath, node, R.WorkdirRelativePath.format(path));
        }
        f.workdirSet = true;
        break;
      }
      case 'user':
        expandWord(cmd.user);
        break;
      case 'volume':
        for (const v of cmd.volumes) expandWord(v);
        break;
      case 'stopsignal':
        expandWord(cmd.signal);
        break;
      case 'shell':
        f.shellSet = true;
        break;
      case 'cmd':
      case 'entrypoint':
        tracked(cmd.kind, cmd.kind.toUpperCase());
        if (cmd.prependShell && !f.shellSet) {
          r.run(R.JSONArgsRecommended, node, R.JSONArgsRecommended.format(cmd.kind.toUpperCase()));
        }
        break;
      case 'healthcheck':
        tracked('healthcheck', 'HEALTHCHECK');
        break;
      case 'copy':
      case 'add': {
        const sources = cmd.params.sourcePaths.map((p) => expandWord(p));
        expandWord(cmd.params.destPath);
        expandWord(cmd.chown);
        expandWord(cmd.chmod);
        const fromContext = cmd.kind === 'add' || cmd.from === '';
        if (!fromContext || !env.matcher) break;
        for (const src of sources) {
          if (/^(https?|git):\/\//.test(src) || src.startsWith('git@')) continue;
          const rel = posix.normalize(`/${src}`).slice(1);
          // The context root counts as ignored only when everything is, with nothing re-included.
          const ignored = rel === '' ? !env.reincludes && env.matcher.matches('') : env.matcher.matches(rel);
          if (ignored) {
            const verb = cmd.kind === 'add' ? 'Add' : 'Copy';
            r.run(R.CopyIgnoredFile, node, R.CopyIgnoredFile.format(verb, src));
          }
        }
        break;
      }
      default:
        break;
    }
  }
}
