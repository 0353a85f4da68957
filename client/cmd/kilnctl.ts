#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CanceledError, formatError } from '../../proto/errors.js';
import { type KilnGrpcServices, loadGrpcServices } from '../../proto/index.js';
import { type FlagSpec, flagHelp, parseFlags } from '../commands/args.js';
import { buildCommand, buildFlags } from '../commands/build-command.js';
import type { CommandContext, CommandIO } from '../commands/context.js';
import { duCommand, duFlags } from '../commands/du-command.js';
import { connectOptionsFrom, globalFlags } from '../commands/global-flags.js';
import { pruneCommand, pruneFlags } from '../commands/prune-command.js';
import { workersCommand, workersFlags } from '../commands/workers-command.js';
import { connect } from '../connection.js';

interface Command {
  readonly names: readonly string[];
  readonly usage: string;
  readonly flags: readonly FlagSpec[];
  readonly run: (ctx: CommandContext, args: readonly string[]) => Promise<void>;
}

const commands: readonly Command[] = [
  { names: ['build', 'b'], usage: 'build', flags: buildFlags, run: buildCommand },
  { names: ['du'], usage: 'disk usage', flags: duFlags, run: duCommand },
  { names: ['prune'], usage: 'clean up build cache', flags: pruneFlags, run: pruneCommand },
];
const debugCommands: readonly Command[] = [
  { names: ['workers'], usage: 'list workers', flags: workersFlags, run: workersCommand },
];

/** Finds package.json from the source tree (client/cmd) or the build output (dist/client/cmd). */
function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'kiln') return pkg.version ?? 'unknown';
    } catch {
      // keep walking up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

function mainHelp(): string {
  return `NAME:
   kilnctl - build utility (a BuildKit-compatible client for kilnd)

USAGE:
   kilnctl [global options] command [command options] [arguments...]

COMMANDS:
   build, b       build
   du             disk usage
   prune          clean up build cache
   debug workers  list workers
   help, h        Shows a list of commands or help for one command

GLOBAL OPTIONS:
${flagHelp(globalFlags)}
   --version, -v  print the version
`;
}

function commandHelp(name: string, c: Command): string {
  return `NAME:
   kilnctl ${name} - ${c.usage}

USAGE:
   kilnctl ${name} [command options] [arguments...]

OPTIONS:
${flagHelp(c.flags)}
`;
}

/** The exit code for an error: 130 for an interrupt, 1 otherwise. */
function exitCodeFor(err: unknown): number {
  return err instanceof CanceledError ? 130 : 1;
}

/** Runs kilnctl with `argv` (without node and script); returns the exit code. */
export async function main(argv: readonly string[], io: CommandIO, signal: AbortSignal): Promise<number> {
  // Global flags come before the command; everything from the command on belongs to it.
  const firstPositional = argv.findIndex((a, i) => !a.startsWith('-') && !takesValue(argv[i - 1]));
  const head = firstPositional === -1 ? argv : argv.slice(0, firstPositional);
  const rest = firstPositional === -1 ? [] : argv.slice(firstPositional);
  try {
    if (head.includes('--version') || (head.includes('-v') && rest.length === 0)) {
      io.stdout.write(`kilnctl kiln ${version()}\n`);
      return 0;
    }
    const globals = parseFlags(head, globalFlags);
    const [name, ...args] = rest;
    if (name === undefined || name === 'help' || name === 'h' || globals.bools.get('help') === true) {
      const target = name === 'help' || name === 'h' ? args[0] : undefined;
      const c = commands.find((x) => target !== undefined && x.names.includes(target));
      io.stdout.write(c ? commandHelp(target ?? '', c) : mainHelp());
      return name === undefined && globals.bools.get('help') !== true ? 1 : 0;
    }
    let command = commands.find((c) => c.names.includes(name));
    let commandArgs = args;
    let displayName = name;
    if (name === 'debug') {
      const [sub, ...subArgs] = args;
      command = debugCommands.find((c) => sub !== undefined && c.names.includes(sub));
      if (command === undefined)
        throw new Error(`unknown debug command ${sub ?? ''}: kilnctl supports "debug workers"`);
      commandArgs = subArgs;
      displayName = `debug ${sub ?? ''}`;
    }
    if (command === undefined) throw new Error(`No help topic for '${name}'`);
    if (commandArgs.includes('--help') || commandArgs.includes('-h')) {
      io.stdout.write(commandHelp(displayName, command));
      return 0;
    }
    // Global flags given after the command are honoured too.
    const all = parseFlags(commandArgs, [...command.flags, ...globalFlags]);
    const merged = {
      bools: new Map([...globals.bools, ...all.bools]),
      strings: new Map([...globals.strings, ...all.strings]),
      lists: new Map([...globals.lists, ...all.lists]),
      positionals: all.positionals,
    };
    let services: KilnGrpcServices | undefined;
    const getServices = () => {
      services ??= loadGrpcServices();
      return services;
    };
    const ctx: CommandContext = {
      io,
      debug: merged.bools.get('debug') === true,
      signal,
      services: getServices,
      connect: () => connect(getServices(), connectOptionsFrom(merged, io.env, signal)),
    };
    await command.run(
      ctx,
      commandArgs.filter((_a, i) => !isGlobalArg(commandArgs, i)),
    );
    return 0;
  } catch (err) {
    const text = signal.aborted ? 'canceled' : formatError(err);
    io.stderr.write(`error: ${text}\n`);
    return exitCodeFor(signal.aborted ? new CanceledError('canceled') : err);
  }
}

const globalValueFlags = new Set(globalFlags.filter((f) => f.kind !== 'bool').map((f) => f.name));

function flagName(arg: string | undefined): string | undefined {
  if (arg === undefined || !arg.startsWith('-')) return undefined;
  return arg.replace(/^--?/u, '').split('=')[0];
}

function takesValue(prev: string | undefined): boolean {
  const name = flagName(prev);
  return name !== undefined && prev !== undefined && !prev.includes('=') && globalValueFlags.has(name);
}

/** Global flags after the command were already merged; drop them (and their values) from its args. */
function isGlobalArg(args: readonly string[], i: number): boolean {
  const a = args[i];
  const name = flagName(a);
  if (name !== undefined && globalFlags.some((f) => f.name === name && f.name !== 'help')) return true;
  return takesValue(args[i - 1]);
}

const isEntryPoint = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isEntryPoint || process.argv[1]?.endsWith('/kilnctl')) {
  const controller = new AbortController();
  // `kilnctl du | head`: a reader that goes away is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw err;
  });
  const onSignal = () => controller.abort(new CanceledError('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  void main(
    process.argv.slice(2),
    { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env },
    controller.signal,
  ).then((code) => {
    process.exitCode = code;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
}
