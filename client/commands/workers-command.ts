import { InvalidArgumentError } from '../../proto/errors.js';
import type { ListWorkersRequest } from '../../proto/generated/moby/buildkit/v1/ListWorkersRequest.js';
import type { ListWorkersResponse__Output } from '../../proto/generated/moby/buildkit/v1/ListWorkersResponse.js';
import type { WorkerRecord__Output } from '../../proto/generated/moby/buildkit/v1/types/WorkerRecord.js';
import type { Platform__Output } from '../../proto/generated/pb/Platform.js';
import { formatBytesShort } from '../human-units.js';
import { fromGrpcError } from '../remote-error.js';
import { unaryCall } from '../rpc.js';
import { type FlagSpec, flagList, parseFlags } from './args.js';
import type { CommandContext } from './context.js';
import { globalFlags } from './global-flags.js';
import { formatGoDuration } from './go-duration.js';
import { formatTabs } from './tab-writer.js';

export const workersFlags: readonly FlagSpec[] = [
  { name: 'filter', aliases: ['f'], kind: 'strings', usage: 'containerd-style filter string slice' },
  { name: 'verbose', aliases: ['v'], kind: 'bool', usage: 'Verbose output' },
  { name: 'format', kind: 'string', usage: 'Format the output (json)' },
];

/** `os/arch[/variant]`, as containerd's platforms.Format. */
export function formatPlatform(p: Platform__Output): string {
  return [p.OS === '' ? 'unknown' : p.OS, p.Architecture === '' ? 'unknown' : p.Architecture, p.Variant]
    .filter((s) => s !== '')
    .join('/');
}

export function formatWorkersTable(workers: readonly WorkerRecord__Output[]): string {
  let out = 'ID\tPLATFORMS\n';
  for (const w of workers) out += `${w.ID}\t${w.platforms.map(formatPlatform).join(',')}\n`;
  return formatTabs(out);
}

export function formatWorkersVerbose(workers: readonly WorkerRecord__Output[]): string {
  let out = '';
  for (const w of workers) {
    out += `ID:\t${w.ID}\n`;
    out += `Platforms:\t${w.platforms.map(formatPlatform).join(',')}\n`;
    const v = w.BuildkitVersion;
    out += `BuildKit:\t${v?.package ?? ''} ${v?.version ?? ''} ${v?.revision ?? ''}\n`;
    out += 'Labels:\n';
    for (const k of Object.keys(w.Labels).sort()) out += `\t${k}:\t${w.Labels[k] ?? ''}\n`;
    w.GCPolicy.forEach((rule, i) => {
      out += `GC Policy rule#${i}:\n`;
      out += `\tAll:\t${String(rule.all)}\n`;
      if (rule.filters.length > 0) out += `\tFilters:\t${rule.filters.join(' ')}\n`;
      if (rule.keepDuration > 0) out += `\tKeep Duration:\t${formatGoDuration(rule.keepDuration)}\n`;
      if (rule.keepBytes > 0) out += `\tKeep Bytes:\t${formatBytesShort(rule.keepBytes)}\n`;
    });
    out += '\n';
  }
  return formatTabs(out);
}

export function workersToJson(workers: readonly WorkerRecord__Output[]): unknown[] {
  return workers.map((w) => ({
    ID: w.ID,
    Labels: w.Labels,
    Platforms: w.platforms.map((p) => ({
      architecture: p.Architecture,
      os: p.OS,
      ...(p.Variant === '' ? {} : { variant: p.Variant }),
    })),
    GCPolicy: w.GCPolicy.map((g) => ({
      All: g.all,
      Filter: g.filters,
      KeepDuration: g.keepDuration,
      KeepBytes: g.keepBytes,
    })),
    BuildkitVersion: {
      package: w.BuildkitVersion?.package ?? '',
      version: w.BuildkitVersion?.version ?? '',
      revision: w.BuildkitVersion?.revision ?? '',
    },
  }));
}

/** `kilnctl debug workers`. */
export async function workersCommand(ctx: CommandContext, args: readonly string[]): Promise<void> {
  const flags = parseFlags(args, [...workersFlags, ...globalFlags]);
  const format = flags.strings.get('format');
  if (format !== undefined && format !== 'json')
    throw new InvalidArgumentError(`unsupported --format ${format}: only json`);
  using conn = await ctx.connect();
  const res = await unaryCall<ListWorkersRequest, ListWorkersResponse__Output>(
    conn.control.ListWorkers.bind(conn.control),
    { filter: [...flagList(flags, 'filter')] },
    { signal: ctx.signal },
  ).catch((err: unknown) => {
    throw fromGrpcError(err);
  });
  if (format === 'json') {
    ctx.io.stdout.write(`${JSON.stringify(workersToJson(res.record), null, 2)}\n`);
    return;
  }
  ctx.io.stdout.write(
    flags.bools.get('verbose') === true ? formatWorkersVerbose(res.record) : formatWorkersTable(res.record),
  );
}
