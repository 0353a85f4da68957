import type { UsageRecord__Output } from '../../proto/generated/moby/buildkit/v1/UsageRecord.js';
import { formatBytes, humanDuration } from '../human-units.js';
import { toRfc3339Nano } from '../progress/solve-status.js';
import { formatTabs } from './tab-writer.js';

/** Cache records as `buildctl du` and `buildctl prune` print them. */

function ageOf(r: UsageRecord__Output, nowMs: number): string {
  const t = r.LastUsedAt;
  if (t === null) return '';
  return `${humanDuration(nowMs - (Number(t.seconds) * 1000 + t.nanos / 1e6))} ago`;
}

export function tableHeader(): string {
  return 'ID\tRECLAIMABLE\tSIZE\tLAST ACCESSED\n';
}

export function tableRow(r: UsageRecord__Output, nowMs: number): string {
  const id = r.Mutable ? `${r.ID}*` : r.ID;
  let size = formatBytes(r.Size);
  if (r.Shared) size += '*';
  return `${id.padEnd(71)}\t${String(!r.InUse).padEnd(11)}\t${size}\t${ageOf(r, nowMs)}\n`;
}

export function formatTable(records: readonly UsageRecord__Output[], nowMs: number): string {
  return formatTabs(tableHeader() + records.map((r) => tableRow(r, nowMs)).join(''));
}

export function formatVerbose(records: readonly UsageRecord__Output[], nowMs: number): string {
  let out = '';
  for (const r of records) {
    const kv = (k: string, v: string) => {
      out += `${k}:\t${v}\n`;
    };
    kv('ID', r.ID);
    if (r.Parents.length > 0) kv('Parents', r.Parents.join(';'));
    if (r.CreatedAt !== null)
      kv('Created at', toRfc3339Nano({ seconds: Number(r.CreatedAt.seconds), nanos: r.CreatedAt.nanos }));
    kv('Mutable', String(r.Mutable));
    kv('Reclaimable', String(!r.InUse));
    kv('Shared', String(r.Shared));
    kv('Size', formatBytes(r.Size));
    if (r.Description !== '') kv('Description', r.Description);
    kv('Usage count', String(r.UsageCount));
    if (r.LastUsedAt !== null) kv('Last used', ageOf(r, nowMs));
    if (r.RecordType !== '') kv('Type', r.RecordType);
    out += '\n';
  }
  return formatTabs(out);
}

export function formatSummary(records: readonly UsageRecord__Output[]): string {
  let total = 0;
  let reclaimable = 0;
  let shared = 0;
  for (const r of records) {
    if (r.Size > 0) {
      total += r.Size;
      if (r.Shared) shared += r.Size;
      if (!r.InUse) reclaimable += r.Size;
    }
  }
  let out = '';
  if (shared > 0) {
    out += `Shared:\t${formatBytes(shared)}\n`;
    out += `Private:\t${formatBytes(total - shared)}\n`;
  }
  out += `Reclaimable:\t${formatBytes(reclaimable)}\n`;
  out += `Total:\t${formatBytes(total)}\n`;
  return formatTabs(out);
}

/** JSON with Go's client.UsageInfo field names. */
export function recordsToJson(records: readonly UsageRecord__Output[]): unknown[] {
  const time = (t: UsageRecord__Output['CreatedAt']) =>
    t === null ? null : toRfc3339Nano({ seconds: Number(t.seconds), nanos: t.nanos });
  return records.map((r) => ({
    ID: r.ID,
    Mutable: r.Mutable,
    InUse: r.InUse,
    Size: r.Size,
    CreatedAt: time(r.CreatedAt),
    LastUsedAt: time(r.LastUsedAt),
    UsageCount: r.UsageCount,
    Parents: r.Parents.length > 0 ? r.Parents : null,
    Description: r.Description,
    RecordType: r.RecordType,
    Shared: r.Shared,
  }));
}
