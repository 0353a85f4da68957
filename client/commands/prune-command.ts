import { InvalidArgumentError } from '../../proto/errors.js';
import type { PruneRequest } from '../../proto/generated/moby/buildkit/v1/PruneRequest.js';
import type { UsageRecord__Output } from '../../proto/generated/moby/buildkit/v1/UsageRecord.js';
import { formatBytes } from '../human-units.js';
import { fromGrpcError } from '../remote-error.js';
import { readServerStream } from '../rpc.js';
import { type FlagSpec, flagList, parseFlags } from './args.js';
import type { CommandContext } from './context.js';
import { globalFlags } from './global-flags.js';
import { parseGoDuration } from './go-duration.js';
import { formatTabs } from './tab-writer.js';
import { formatVerbose, recordsToJson, tableHeader, tableRow } from './usage-records.js';

export const pruneFlags: readonly FlagSpec[] = [
  { name: 'keep-duration', kind: 'string', usage: 'Keep data newer than this limit (e.g. 24h)' },
  { name: 'keep-storage', kind: 'string', usage: 'Keep data below this limit (in MB)' },
  { name: 'filter', aliases: ['f'], kind: 'strings', usage: 'Filter records' },
  { name: 'all', kind: 'bool', usage: 'Include internal/frontend references' },
  { name: 'verbose', aliases: ['v'], kind: 'bool', usage: 'Verbose output' },
  { name: 'format', kind: 'string', usage: 'Format the output (json)' },
];

/** The PruneRequest for the parsed flags: `--keep-storage` is MB (1e6 bytes), durations in ns. */
export function pruneRequestFrom(options: {
  keepDuration?: string;
  keepStorage?: string;
  filter: readonly string[];
  all: boolean;
}): PruneRequest {
  let keepBytes = 0;
  if (options.keepStorage !== undefined) {
    const mb = Number(options.keepStorage);
    if (!Number.isFinite(mb) || mb < 0)
      throw new InvalidArgumentError(`invalid --keep-storage ${options.keepStorage}: expected MB`);
    keepBytes = Math.round(mb * 1e6);
  }
  const keepDuration = options.keepDuration === undefined ? 0 : parseGoDuration(options.keepDuration);
  return { filter: [...options.filter], all: options.all, keepDuration, keepBytes };
}

/** `kilnctl prune`: removes build cache and prints each removed record as it arrives. */
export async function pruneCommand(ctx: CommandContext, args: readonly string[]): Promise<void> {
  const flags = parseFlags(args, [...pruneFlags, ...globalFlags]);
  const format = flags.strings.get('format');
  if (format !== undefined && format !== 'json')
    throw new InvalidArgumentError(`unsupported --format ${format}: only json`);
  const keepDuration = flags.strings.get('keep-duration');
  const keepStorage = flags.strings.get('keep-storage');
  const request = pruneRequestFrom({
    ...(keepDuration === undefined ? {} : { keepDuration }),
    ...(keepStorage === undefined ? {} : { keepStorage }),
    filter: flagList(flags, 'filter'),
    all: flags.bools.get('all') === true,
  });
  const verbose = flags.bools.get('verbose') === true;
  using conn = await ctx.connect();
  const removed: UsageRecord__Output[] = [];
  let total = 0;
  // Rows are printed as they stream in, so the header is sized for the fixed-width ID column.
  let first = true;
  const now = Date.now();
  try {
    await readServerStream<UsageRecord__Output>(
      conn.control.Prune(request),
      (r) => {
        removed.push(r);
        total += r.Size;
        if (format === 'json') return;
        if (verbose) ctx.io.stdout.write(formatVerbose([r], now));
        else {
          const text = (first ? tableHeader() : '') + tableRow(r, now);
          first = false;
          ctx.io.stdout.write(formatTabs(text));
        }
      },
      ctx.signal,
    );
  } catch (err) {
    throw fromGrpcError(err);
  }
  if (format === 'json') {
    ctx.io.stdout.write(`${JSON.stringify(recordsToJson(removed), null, 2)}\n`);
    return;
  }
  ctx.io.stdout.write(formatTabs(`Total:\t${formatBytes(total)}\n`));
}
