import { InvalidArgumentError } from '../../proto/errors.js';
import type { DiskUsageRequest } from '../../proto/generated/moby/buildkit/v1/DiskUsageRequest.js';
import type { DiskUsageResponse__Output } from '../../proto/generated/moby/buildkit/v1/DiskUsageResponse.js';
import { fromGrpcError } from '../remote-error.js';
import { unaryCall } from '../rpc.js';
import { type FlagSpec, flagList, parseFlags } from './args.js';
import type { CommandContext } from './context.js';
import { globalFlags } from './global-flags.js';
import { formatSummary, formatTable, formatVerbose, recordsToJson } from './usage-records.js';

export const duFlags: readonly FlagSpec[] = [
  { name: 'filter', aliases: ['f'], kind: 'strings', usage: 'Filter records' },
  { name: 'verbose', aliases: ['v'], kind: 'bool', usage: 'Verbose output' },
  { name: 'format', kind: 'string', usage: 'Format the output (json)' },
];

/** `kilnctl du`: disk usage of the build cache. */
export async function duCommand(ctx: CommandContext, args: readonly string[]): Promise<void> {
  const flags = parseFlags(args, [...duFlags, ...globalFlags]);
  const format = flags.strings.get('format');
  if (format !== undefined && format !== 'json')
    throw new InvalidArgumentError(`unsupported --format ${format}: only json`);
  const filter = [...flagList(flags, 'filter')];
  using conn = await ctx.connect();
  const res = await unaryCall<DiskUsageRequest, DiskUsageResponse__Output>(
    conn.control.DiskUsage.bind(conn.control),
    { filter },
    { signal: ctx.signal },
  ).catch((err: unknown) => {
    throw fromGrpcError(err);
  });
  const records = res.record;
  if (format === 'json') {
    ctx.io.stdout.write(`${JSON.stringify(recordsToJson(records), null, 2)}\n`);
    return;
  }
  const now = Date.now();
  ctx.io.stdout.write(
    flags.bools.get('verbose') === true ? formatVerbose(records, now) : formatTable(records, now),
  );
  if (filter.length === 0) ctx.io.stdout.write(formatSummary(records));
}
