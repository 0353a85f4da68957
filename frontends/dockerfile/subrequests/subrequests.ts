import { InvalidArgumentError } from '../../../proto/errors.js';
import type { OutlineData } from '../convert/outline.js';
import { toOutlineLocation } from '../convert/outline.js';
import type { Stage } from '../instructions/commands.js';
import { formatTabs } from '../../../client/commands/tab-writer.js';

// `--opt requestid=…` subrequests (dockerui/requests.go, frontend/subrequests/*): answered in result
// metadata, `result.json` shaped like BuildKit's Go structs and `result.txt` as its printers write it.

export const subrequestIds = {
  outline: 'frontend.outline',
  targets: 'frontend.targets',
  describe: 'frontend.subrequests.describe',
} as const;
export type SubrequestId = (typeof subrequestIds)[keyof typeof subrequestIds];

/** A subrequest the frontend does not know (errdefs.UnsupportedSubrequestError). */
export class UnsupportedSubrequestError extends InvalidArgumentError {
  readonly subrequest: string;
  constructor(subrequest: string) {
    super(`unsupported request ${subrequest}`);
    this.name = 'UnsupportedSubrequestError';
    this.subrequest = subrequest;
  }
}

export function parseSubrequest(value: string | undefined): SubrequestId | undefined {
  if (value === undefined) return undefined;
  for (const id of Object.values(subrequestIds)) if (id === value) return id;
  throw new UnsupportedSubrequestError(value);
}

/** Go's encoding/json escapes these even inside strings; keep the bytes equal. */
function goJson(value: unknown): Uint8Array {
  const text = JSON.stringify(value, null, 2)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return new TextEncoder().encode(text);
}

function base64(dt: Uint8Array): string {
  return Buffer.from(dt).toString('base64');
}

interface Named {
  readonly name: string;
  readonly description: string;
}

interface RequestDefinition {
  readonly name: string;
  readonly version: string;
  readonly type: 'rpc';
  readonly description: string;
  readonly opts: Named[] | null;
  readonly inputs: Named[] | null;
  readonly metadata: Named[] | null;
  readonly refs: Named[] | null;
}

const outlineDefinition: RequestDefinition = {
  name: subrequestIds.outline,
  version: '1.0.0',
  type: 'rpc',
  description: 'List all parameters current build takes',
  opts: [{ name: 'target', description: 'Target build stage' }],
  inputs: null,
  metadata: [{ name: 'result.json', description: '' }],
  refs: null,
};

const targetsDefinition: RequestDefinition = {
  name: subrequestIds.targets,
  version: '1.0.0',
  type: 'rpc',
  description: 'List all targets current build supports',
  opts: [],
  inputs: null,
  metadata: [{ name: 'result.json', description: '' }],
  refs: null,
};

const describeDefinition: RequestDefinition = {
  name: subrequestIds.describe,
  version: '1.0.0',
  type: 'rpc',
  description: 'List available subrequest types',
  opts: null,
  inputs: null,
  metadata: [
    { name: 'result.json', description: '' },
    { name: 'result.txt', description: '' },
  ],
  refs: null,
};

export type SubrequestMetadata = Record<string, Uint8Array>;

function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** `frontend.subrequests.describe`: the subrequests this frontend answers. */
export function describeSubrequests(): SubrequestMetadata {
  const all = [outlineDefinition, targetsDefinition, describeDefinition];
  let table = 'NAME\tVERSION\tDESCRIPTION\n';
  for (const r of all) table += `${r.name.replace(/^frontend\./, '')}\t${r.version}\t${r.description}\n`;
  return {
    'result.json': goJson(all),
    'result.txt': text(formatTabs(table, { padChar: ' ', padding: 1 })),
    version: text(describeDefinition.version),
  };
}

/** `frontend.targets` (ListTargets in dockerfile2llb): every stage, the last one the default. */
export function listTargets(stages: readonly Stage[], source: Uint8Array): SubrequestMetadata {
  const targets = stages.map((s, i) => ({
    ...(s.name ? { name: s.name } : {}),
    ...(i === stages.length - 1 ? { default: true } : {}),
    ...(s.docComment ? { description: s.docComment } : {}),
    ...(s.baseName ? { base: s.baseName } : {}),
    ...(s.platform ? { platform: s.platform } : {}),
    Location: toOutlineLocation(s.location),
  }));
  let table = 'TARGET\tDESCRIPTION\n';
  for (const t of targets) {
    let name = t.name ?? '';
    if (name === '' && t.default) name = '(default)';
    else if (t.default) name = `${name} (default)`;
    table += `${name}\t${t.description ?? ''}\n`;
  }
  return {
    'result.json': goJson({ Targets: targets, Sources: [base64(source)] }),
    'result.txt': text(formatTabs(table, { padChar: ' ', padding: 1 })),
    version: text(targetsDefinition.version),
  };
}

/** `frontend.outline`: the build args, secrets and ssh ids of the target. */
export function outlineResult(outline: OutlineData, source: Uint8Array): SubrequestMetadata {
  const json = {
    ...(outline.name ? { name: outline.name } : {}),
    ...(outline.description ? { description: outline.description } : {}),
    ...(outline.args.length ? { args: outline.args } : {}),
    ...(outline.secrets.length ? { secrets: outline.secrets } : {}),
    ...(outline.ssh.length ? { ssh: outline.ssh } : {}),
    sources: [base64(source)],
  };
  let out = '';
  if (outline.name || outline.description) {
    let head = `TARGET:\t${outline.name || '(default)'}\n`;
    if (outline.description) head += `DESCRIPTION:\t${outline.description}\n`;
    out += `${formatTabs(head, { padChar: ' ', padding: 1 })}\n`;
  }
  if (outline.args.length > 0) {
    let t = 'BUILD ARG\tVALUE\tDESCRIPTION\n';
    for (const a of outline.args) t += `${a.Name}\t${a.Value}\t${a.Description}\n`;
    out += `${formatTabs(t, { padChar: ' ', padding: 3 })}\n`;
  }
  for (const [title, list] of [
    ['SECRET', outline.secrets],
    ['SSH', outline.ssh],
  ] as const) {
    if (list.length === 0) continue;
    let t = `${title}\tREQUIRED\n`;
    for (const s of list) t += `${s.Name}\t${s.Required ? 'true' : ''}\n`;
    out += `${formatTabs(t, { padChar: ' ', padding: 3 })}\n`;
  }
  return { 'result.json': goJson(json), 'result.txt': text(out) };
}
