import { parseSymbolicMode } from '../../../worker/fs/symbolic-mode.js';
import { InvalidArgumentError } from '../../../proto/errors.js';
import type { ChownOpt__Output } from '../../../proto/generated/pb/ChownOpt.js';
import type { FileAction__Output } from '../../../proto/generated/pb/FileAction.js';
import type { UserOpt__Output } from '../../../proto/generated/pb/UserOpt.js';
import type {
  CopyOptions,
  MkdirOptions,
  MkfileOptions,
  Owner,
  RmOptions,
  SymlinkOptions,
} from '../../../worker/fs/file-action-types.js';

/** One FileAction, parsed from its decoded form into the typed options worker/fs takes. */
export type ParsedAction =
  | { readonly kind: 'copy'; readonly opts: CopyOptions }
  | { readonly kind: 'mkdir'; readonly opts: MkdirOptions }
  | { readonly kind: 'mkfile'; readonly opts: MkfileOptions }
  | { readonly kind: 'rm'; readonly opts: RmOptions }
  | { readonly kind: 'symlink'; readonly opts: SymlinkOptions };

/** One side of a ChownOpt: a numeric id, or a name looked up in the /etc files of input `input`. */
export type OwnerRef = { readonly id: number } | { readonly name: string; readonly input: number };

/** A ChownOpt that names a user or group; resolved against a snapshot when the action runs. */
export interface NamedOwner {
  readonly user?: OwnerRef | undefined;
  readonly group?: OwnerRef | undefined;
}

export interface IndexedAction {
  readonly input: number;
  readonly secondaryInput: number;
  readonly output: number;
  /** The action; its numeric `owner` is filled in from `namedOwner` before it runs. */
  readonly action: ParsedAction;
  /** Set when the owner has a name in it (NamedUserOpt). */
  readonly namedOwner?: NamedOwner | undefined;
}

type Int64 = number | bigint | string;

export function toInt(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : Number(v);
}

/** -1 means "keep"/"unset" for LLB timestamps; anything else is nanoseconds. */
function timestamp(v: Int64 | null | undefined): bigint | undefined {
  if (v === null || v === undefined) return undefined;
  const n = typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)));
  return n === -1n ? undefined : n;
}

function ownerRef(u: UserOpt__Output): OwnerRef {
  if (u.byName) return { name: u.byName.name, input: toInt(u.byName.input) };
  return { id: u.byID ?? 0 };
}

/** The ChownOpt as refs (names kept); undefined when absent. */
export function parseOwnerRefs(chown: ChownOpt__Output | null | undefined): NamedOwner | undefined {
  if (!chown) return undefined;
  return {
    ...(chown.user ? { user: ownerRef(chown.user) } : {}),
    ...(chown.group ? { group: ownerRef(chown.group) } : {}),
  };
}

function hasName(o: NamedOwner | undefined): boolean {
  return (o?.user !== undefined && 'name' in o.user) || (o?.group !== undefined && 'name' in o.group);
}

/**
 * BuildKit's readUser with ids only: a user id sets uid and gid, a group id overrides gid. Owners
 * that name a user or group are resolved later (see file-op.ts) and give undefined here.
 */
export function parseOwner(chown: ChownOpt__Output | null | undefined): Owner | undefined {
  const refs = parseOwnerRefs(chown);
  if (!refs || hasName(refs)) return undefined;
  return numericOwner(refs);
}

/** Ids only (BuildKit: a user id sets uid and gid, a group id overrides gid); names count as 0. */
function numericOwner(refs: NamedOwner): Owner {
  let uid = 0;
  let gid = 0;
  if (refs.user && 'id' in refs.user) {
    uid = refs.user.id;
    gid = refs.user.id;
  }
  if (refs.group && 'id' in refs.group) gid = refs.group.id;
  return { uid, gid };
}

export function parseFileAction(a: FileAction__Output, index: number): IndexedAction {
  const parsed = parseAction(a, index);
  const chown = a.copy?.owner ?? a.mkdir?.owner ?? a.mkfile?.owner ?? a.symlink?.owner;
  const refs = parseOwnerRefs(chown);
  return hasName(refs) ? { ...parsed, namedOwner: refs } : parsed;
}

function parseAction(a: FileAction__Output, index: number): IndexedAction {
  const base = { input: toInt(a.input), secondaryInput: toInt(a.secondaryInput), output: toInt(a.output) };
  if (a.copy) {
    const c = a.copy;
    return {
      ...base,
      action: {
        kind: 'copy',
        opts: {
          src: c.src,
          dest: c.dest,
          owner: parseOwner(c.owner),
          mode: c.mode === -1 ? undefined : c.mode,
          chmod: c.modeStr ? parseSymbolicMode(c.modeStr) : undefined,
          followSymlink: c.followSymlink,
          dirCopyContents: c.dirCopyContents,
          createDestPath: c.createDestPath,
          allowWildcard: c.allowWildcard,
          allowEmptyWildcard: c.allowEmptyWildcard,
          timestampNs: timestamp(c.timestamp),
          includePatterns: c.include_patterns ?? [],
          excludePatterns: c.exclude_patterns ?? [],
          alwaysReplaceExistingDestPaths: c.alwaysReplaceExistingDestPaths,
          attemptUnpack: c.attemptUnpackDockerCompatibility,
        },
      },
    };
  }
  if (a.mkdir) {
    const m = a.mkdir;
    return {
      ...base,
      action: {
        kind: 'mkdir',
        opts: {
          path: m.path,
          mode: m.mode,
          makeParents: m.makeParents,
          owner: parseOwner(m.owner),
          timestampNs: timestamp(m.timestamp),
        },
      },
    };
  }
  if (a.mkfile) {
    const m = a.mkfile;
    return {
      ...base,
      action: {
        kind: 'mkfile',
        opts: {
          path: m.path,
          mode: m.mode,
          data: m.data ?? new Uint8Array(),
          owner: parseOwner(m.owner),
          timestampNs: timestamp(m.timestamp),
        },
      },
    };
  }
  if (a.rm) {
    return {
      ...base,
      action: {
        kind: 'rm',
        opts: { path: a.rm.path, allowNotFound: a.rm.allowNotFound, allowWildcard: a.rm.allowWildcard },
      },
    };
  }
  if (a.symlink) {
    const s = a.symlink;
    return {
      ...base,
      action: {
        kind: 'symlink',
        opts: {
          oldpath: s.oldpath,
          newpath: s.newpath,
          owner: parseOwner(s.owner),
          timestampNs: timestamp(s.timestamp),
        },
      },
    };
  }
  throw new InvalidArgumentError(`invalid FileOp: action ${index} has no action set`);
}
