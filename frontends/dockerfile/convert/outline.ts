import type { SourceLocation } from '../../../proto/errors.js';
import type { OutlineArgInfo, OutlineCapture, StageState } from './dispatch-state.js';

// What the `frontend.outline` subrequest reports about a target (dockerfile2llb/outline.go): the
// build args, secrets and ssh ids the target and the stages it depends on use.

/** pb.Location as Go's encoding/json writes it (zero fields omitted). */
export interface OutlineLocation {
  readonly ranges: readonly { readonly start: { line?: number }; readonly end: { line?: number } }[];
}

export interface OutlineArg {
  readonly Name: string;
  readonly Description: string;
  readonly Value: string;
  readonly Location: OutlineLocation | null;
}

export interface OutlineSecret {
  readonly Name: string;
  readonly Required: boolean;
  readonly Location: OutlineLocation | null;
}

export interface OutlineData {
  readonly name: string;
  readonly description: string;
  readonly args: OutlineArg[];
  readonly secrets: OutlineSecret[];
  readonly ssh: OutlineSecret[];
}

type Located = SourceLocation & { readonly endLine?: number };

export function toOutlineLocation(loc: Located | undefined): OutlineLocation | null {
  if (!loc) return null;
  const line = (n: number) => (n === 0 ? {} : { line: n });
  return { ranges: [{ start: line(loc.line), end: line(loc.endLine ?? loc.line) }] };
}

export function newOutlineCapture(globals: ReadonlyMap<string, OutlineArgInfo>): OutlineCapture {
  return { allArgs: new Map(globals), usedArgs: new Set(), secrets: new Map(), ssh: new Map() };
}

function markAllUsed(o: OutlineCapture, names: Iterable<string>, seen = new Set<string>()): void {
  for (const k of names) {
    if (seen.has(k)) continue;
    seen.add(k);
    const a = o.allArgs.get(k);
    if (a) markAllUsed(o, a.deps, seen);
    o.usedArgs.add(k);
  }
}

function collect<T>(ds: StageState, visitedStages: Set<StageState>, own: (ds: StageState) => T[]): T[] {
  if (visitedStages.has(ds)) return [];
  visitedStages.add(ds);
  const out = own(ds);
  if (ds.base) out.push(...collect(ds.base, visitedStages, own));
  for (const d of ds.deps) out.push(...collect(d, visitedStages, own));
  return out;
}

function byLine<T extends { Location: OutlineLocation | null }>(list: T[]): T[] {
  const line = (l: OutlineLocation | null) => l?.ranges[0]?.start.line ?? 0;
  return list.sort((a, b) => line(a.Location) - line(b.Location));
}

/** The outline of a dispatched target (Outline in dockerfile2llb/outline.go). */
export function outlineOf(target: StageState): OutlineData {
  const seenArgs = new Set<string>();
  const args = collect(target, new Set(), (ds) => {
    markAllUsed(ds.outline, [...ds.outline.usedArgs]);
    const list: OutlineArg[] = [];
    for (const k of ds.outline.usedArgs) {
      const a = ds.outline.allArgs.get(k);
      if (!a || seenArgs.has(k)) continue;
      seenArgs.add(k);
      list.push({
        Name: a.key,
        Description: a.description,
        Value: a.value ?? '',
        Location: toOutlineLocation(a.location),
      });
    }
    return list;
  });
  const secretsOf = (pick: (o: OutlineCapture) => OutlineCapture['secrets']) => {
    const seen = new Set<string>();
    return collect(target, new Set(), (ds) => {
      const list: OutlineSecret[] = [];
      for (const [name, v] of pick(ds.outline)) {
        if (seen.has(name)) continue;
        seen.add(name);
        list.push({ Name: name, Required: v.required, Location: toOutlineLocation(v.location) });
      }
      return list;
    });
  };
  return {
    name: target.stage.name,
    description: target.stage.docComment,
    args: byLine(args),
    secrets: byLine(secretsOf((o) => o.secrets)),
    ssh: byLine(secretsOf((o) => o.ssh)),
  };
}
