import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '../../../proto/errors.js';
import type { FileAction__Output } from '../../../proto/generated/pb/FileAction.js';
import type { FileOp__Output } from '../../../proto/generated/pb/FileOp.js';
import { type ContentHashCache, checksumPath } from '../../../worker/fs/content-hash.js';
import { copy, mkdirAction, mkfileAction, rmAction, symlinkAction } from '../../../worker/fs/file-actions.js';
import type {
  CacheDep,
  CacheMap,
  ImmutableRef,
  MutableRef,
  OpContext,
  RefManager,
  ResolvedOp,
} from '../types.js';
import { isErrno, resolveInRoot } from '../../../worker/fs/root-path.js';
import { resolveGroup, resolveUser } from '../../../worker/fs/user-lookup.js';
import type { Owner } from '../../../worker/fs/file-action-types.js';
import {
  type IndexedAction,
  type NamedOwner,
  type ParsedAction,
  parseFileAction,
} from './parse-file-action.js';

/** What a copy reads from one of the op's inputs; part of that input's cache key. */
export interface CopySelector {
  readonly path: string;
  readonly wildcard: boolean;
  readonly followLinks: boolean;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
}

export interface FileOpDeps {
  readonly refs: RefManager;
  readonly hashCache: ContentHashCache;
}

/**
 * FileOp (BuildKit solver/llbsolver/ops/file.go): actions run in order on trees chained by index —
 * an action's input is an op input (< n), the result of action k (n + k), or scratch (-1). Outputs are
 * the actions whose `output` is ≥ 0.
 */
export function fileOp(
  op: FileOp__Output,
  numInputs: number,
  deps: FileOpDeps,
  description: string,
): ResolvedOp {
  const raw = op.actions ?? [];
  if (raw.length === 0) throw new InvalidArgumentError('invalid FileOp: no actions');
  const actions = raw.map((a, i) => parseFileAction(a, i));
  validateIndexes(actions, numInputs);
  return {
    cacheMap: (ctx) => Promise.resolve(fileCacheMap(raw, actions, numInputs, deps.hashCache, ctx)),
    exec: (ctx, inputs) => execFileOp(actions, inputs, deps.refs, ctx, description),
  };
}

function validateIndexes(actions: readonly IndexedAction[], n: number): void {
  actions.forEach((a, i) => {
    for (const idx of [a.input, a.secondaryInput]) {
      if (idx < -1 || idx >= n + i) {
        throw new InvalidArgumentError(
          `invalid FileOp: action ${i} refers to input ${idx} (${n} inputs, ${i} earlier actions)`,
        );
      }
    }
  });
  const outputs = actions
    .map((a) => a.output)
    .filter((o) => o >= 0)
    .sort((a, b) => a - b);
  outputs.forEach((o, i) => {
    if (o !== i)
      throw new InvalidArgumentError(
        `invalid FileOp: outputs must be numbered 0..n-1, got ${outputs.join(',')}`,
      );
  });
  if (outputs.length === 0) throw new InvalidArgumentError('invalid FileOp: no action has an output');
}

function fileCacheMap(
  raw: readonly FileAction__Output[],
  actions: readonly IndexedAction[],
  n: number,
  hashCache: ContentHashCache,
  _ctx: OpContext,
): CacheMap {
  const selectors = new Map<number, CopySelector[]>();
  const invalid = new Set<number>();
  // Inputs whose /etc/passwd and /etc/group name an owner: their content is part of the key.
  const userDbs = new Set<number>();
  const jsonActions: unknown[] = [];
  const indexes: number[][] = [];
  actions.forEach((a, i) => {
    // An input that an action writes on is keyed as a whole, never by content.
    if (a.input !== -1) invalid.add(a.input);
    const rawAction = raw[i] as FileAction__Output;
    const member = rawAction.action ?? a.action.kind;
    let body: unknown = rawAction[member as keyof FileAction__Output];
    if (a.action.kind === 'copy' && a.secondaryInput !== -1 && a.secondaryInput < n) {
      const c = a.action.opts;
      const list = selectors.get(a.secondaryInput) ?? [];
      list.push({
        path: c.src,
        wildcard: c.allowWildcard,
        followLinks: c.followSymlink,
        include: c.includePatterns,
        exclude: c.excludePatterns,
      });
      selectors.set(a.secondaryInput, list);
      // The source path is in the selector; keep only its name so moving the source keeps the key.
      body = { ...(body as object), src: path.posix.basename(c.src) };
    }
    for (const ref of [a.namedOwner?.user, a.namedOwner?.group]) {
      if (ref && 'name' in ref && ref.input >= 0 && ref.input < n) userDbs.add(ref.input);
    }
    jsonActions.push({ [member]: body });
    indexes.push([a.input, a.secondaryInput, a.output]);
  });
  const digest = sha256(stableJson({ Type: 'file', Actions: jsonActions, Indexes: indexes }));
  const depsOut: CacheDep[] = [];
  for (let i = 0; i < n; i++) {
    const sel = selectors.get(i) ?? [];
    const userDb = userDbs.has(i);
    if ((sel.length === 0 && !userDb) || invalid.has(i)) {
      depsOut.push({});
      continue;
    }
    depsOut.push({
      selector: JSON.stringify(userDb ? [...sel, { userDb: ['/etc/passwd', '/etc/group'] }] : sel),
      contentKey: async (input: ImmutableRef, signal: AbortSignal) => {
        const memo = hashCache.memo(input.snapshot.id);
        const sums: string[] = [];
        if (userDb) sums.push(await userDbDigest(input.snapshot.dir));
        for (const s of sel) {
          sums.push(
            await checksumPath(
              input.snapshot.dir,
              s.path,
              {
                followLinks: s.followLinks,
                wildcard: s.wildcard,
                includePatterns: s.include,
                excludePatterns: s.exclude,
              },
              signal,
              memo,
            ),
          );
        }
        return sums.length === 1 ? (sums[0] as string) : sha256(sums.join('\0'));
      },
    });
  }
  return { digest, deps: depsOut };
}

type Slot =
  | { readonly state: 'mutable'; readonly ref: MutableRef }
  | { readonly state: 'committed'; readonly ref: ImmutableRef }
  | { readonly state: 'gone' };

async function execFileOp(
  actions: readonly IndexedAction[],
  inputs: readonly ImmutableRef[],
  refs: RefManager,
  ctx: OpContext,
  description: string,
): Promise<ImmutableRef[]> {
  const { signal } = ctx;
  const n = inputs.length;
  // How many later actions still read each action's result (as base or as copy source).
  const remaining = actions.map(() => 0);
  const outputOf = actions.map((a) => a.output);
  for (const a of actions) {
    for (const idx of [a.input, a.secondaryInput])
      if (idx >= n) remaining[idx - n] = (remaining[idx - n] ?? 0) + 1;
  }
  const slots: Slot[] = [];
  let scratchDir: string | undefined;
  const emptyDir = async () => {
    scratchDir ??= await mkdtemp(path.join(tmpdir(), 'kiln-scratch-'));
    return scratchDir;
  };
  const outputs: ImmutableRef[] = [];
  try {
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i] as IndexedAction;
      signal.throwIfAborted();
      // The source is read before the base may be taken over, so one slot can serve as both.
      const srcDir = a.action.kind === 'copy' ? await sourceDir(a.secondaryInput) : undefined;
      // Names are looked up before the base may be taken over (it can be the input they name).
      const action = a.namedOwner ? withOwner(a.action, await resolveOwner(a.namedOwner)) : a.action;
      const target = await baseFor(a.input);
      slots[i] = { state: 'mutable', ref: target };
      if (a.secondaryInput >= n) consume(a.secondaryInput - n);
      switch (action.kind) {
        case 'copy':
          await copy(srcDir as string, target.dir, action.opts, signal);
          break;
        case 'mkdir':
          await mkdirAction(target.dir, action.opts, signal);
          break;
        case 'mkfile':
          await mkfileAction(target.dir, action.opts, signal);
          break;
        case 'rm':
          await rmAction(target.dir, action.opts, signal);
          break;
        case 'symlink':
          await symlinkAction(target.dir, action.opts, signal);
          break;
        default: {
          const never: never = action;
          throw new InvalidArgumentError(`unknown file action ${JSON.stringify(never)}`);
        }
      }
      if (a.output >= 0) {
        const committed = await commitSlot(i);
        outputs[a.output] = committed.clone();
      }
      if ((remaining[i] ?? 0) === 0 && a.output < 0) await dropSlot(i);
    }
    return outputs;
  } catch (err) {
    await Promise.allSettled(outputs.map((r) => r.release()));
    throw err;
  } finally {
    await Promise.allSettled(slots.map((_, i) => dropSlot(i)));
    if (scratchDir) await rm(scratchDir, { recursive: true, force: true });
  }

  /** BuildKit's readUser: a named user gives uid and gid from passwd, a named group the gid. */
  async function resolveOwner(refs: NamedOwner): Promise<Owner> {
    let uid = 0;
    let gid = 0;
    const rootOf = async (input: number, what: string): Promise<string> => {
      if (input === -1)
        throw new InvalidArgumentError(`invalid FileOp: ${what} by name needs an input to look it up in`);
      return sourceDir(input);
    };
    if (refs.user) {
      if ('id' in refs.user) {
        uid = refs.user.id;
        gid = refs.user.id;
      } else {
        const u = await resolveUser(await rootOf(refs.user.input, 'user'), refs.user.name, signal);
        uid = u.uid;
        gid = u.gid;
      }
    }
    if (refs.group) {
      gid =
        'id' in refs.group
          ? refs.group.id
          : await resolveGroup(await rootOf(refs.group.input, 'group'), refs.group.name, signal);
    }
    return { uid, gid };
  }

  async function sourceDir(idx: number): Promise<string> {
    if (idx === -1) return emptyDir();
    if (idx < n) return (inputs[idx] as ImmutableRef).snapshot.dir;
    const slot = slots[idx - n];
    if (!slot || slot.state === 'gone')
      throw new InvalidArgumentError(`invalid FileOp: result ${idx} used after release`);
    return slot.state === 'mutable' ? slot.ref.dir : slot.ref.snapshot.dir;
  }

  async function baseFor(idx: number): Promise<MutableRef> {
    const opts = { description, recordType: 'regular' as const, share: 'hardlink' as const };
    if (idx === -1) return refs.newMutable(undefined, opts, signal);
    if (idx < n) return refs.newMutable(inputs[idx], opts, signal);
    const k = idx - n;
    const slot = slots[k];
    remaining[k] = (remaining[k] ?? 0) - 1;
    // The last reader of an intermediate result that is not an output may write on it directly.
    if (slot?.state === 'mutable' && remaining[k] === 0 && (outputOf[k] ?? -1) < 0) {
      slots[k] = { state: 'gone' };
      return slot.ref;
    }
    const parent = await commitSlot(k);
    const child = await refs.newMutable(parent, opts, signal);
    if (remaining[k] === 0) await dropSlot(k);
    return child;
  }

  function consume(k: number): void {
    remaining[k] = (remaining[k] ?? 0) - 1;
  }

  async function commitSlot(k: number): Promise<ImmutableRef> {
    const slot = slots[k];
    if (slot?.state === 'committed') return slot.ref;
    if (slot?.state !== 'mutable')
      throw new InvalidArgumentError(`invalid FileOp: result of action ${k} is gone`);
    const ref = await slot.ref.commit(signal);
    slots[k] = { state: 'committed', ref };
    return ref;
  }

  async function dropSlot(k: number): Promise<void> {
    const slot = slots[k];
    if (!slot || slot.state === 'gone') return;
    slots[k] = { state: 'gone' };
    await slot.ref.release();
  }
}

function withOwner(action: ParsedAction, owner: Owner): ParsedAction {
  switch (action.kind) {
    case 'copy':
      return { kind: 'copy', opts: { ...action.opts, owner } };
    case 'mkdir':
      return { kind: 'mkdir', opts: { ...action.opts, owner } };
    case 'mkfile':
      return { kind: 'mkfile', opts: { ...action.opts, owner } };
    case 'symlink':
      return { kind: 'symlink', opts: { ...action.opts, owner } };
    case 'rm':
      return action;
    default: {
      const never: never = action;
      throw new InvalidArgumentError(`unknown file action ${JSON.stringify(never)}`);
    }
  }
}

/** Digest of the user database a name lookup reads (missing files hash as empty). */
async function userDbDigest(root: string): Promise<string> {
  const h = createHash('sha256');
  for (const f of ['/etc/passwd', '/etc/group']) {
    let data: Buffer = Buffer.alloc(0);
    try {
      data = await readFile(await resolveInRoot(root, f));
    } catch (err) {
      if (!isErrno(err, 'ENOENT') && !isErrno(err, 'ENOTDIR') && !isErrno(err, 'EISDIR')) throw err;
    }
    h.update(`${f}\0${data.length}\0`).update(data);
  }
  return `sha256:${h.digest('hex')}`;
}

function sha256(s: string): string {
  return `sha256:${createHash('sha256').update(s).digest('hex')}`;
}

/** JSON with bytes as base64 and 64-bit ints as numbers, as Go's encoding/json writes them. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return Number(v);
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    if (
      typeof v === 'object' &&
      v !== null &&
      (v as { type?: unknown }).type === 'Buffer' &&
      Array.isArray((v as { data?: unknown }).data)
    ) {
      return Buffer.from((v as { data: number[] }).data).toString('base64');
    }
    return v;
  });
}
