/**
 * Human-readable sizes and ages, matching what buildctl prints (tonistiigi/units `%.2f` and
 * docker/go-units HumanDuration) so that scripts parsing either tool see the same text.
 */

const decimalUnits = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'] as const;

function scale(bytes: number): { value: number; unit: string } | undefined {
  let i = 0;
  let base = 1;
  const abs = Math.abs(bytes);
  while (i < decimalUnits.length - 1 && abs >= base * 1000) {
    base *= 1000;
    i++;
  }
  if (i === 0) return undefined;
  return { value: bytes / base, unit: decimalUnits[i] ?? 'B' };
}

/** `%.2f` of units.Bytes: `93B`, `2.10kB`, `3.37MB`. */
export function formatBytes(bytes: number): string {
  const s = scale(bytes);
  if (!s) return `${Math.trunc(bytes)}B`;
  return `${s.value.toFixed(2)}${s.unit}`;
}

/** `%g` of units.Bytes: `512MB`, `1.5GB`. */
export function formatBytesShort(bytes: number): string {
  const s = scale(bytes);
  if (!s) return `${Math.trunc(bytes)}B`;
  return `${String(Number(s.value.toPrecision(15)))}${s.unit}`;
}

/** docker/go-units HumanDuration: `Less than a second`, `About a minute`, `3 hours`, `2 weeks`. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hoursFloat = ms / 3_600_000;
  const hours = Math.trunc(hoursFloat + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(hoursFloat) / 24 / 365)} years`;
}
