import { InvalidArgumentError, UnimplementedError } from '../../../proto/errors.js';
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

export interface IndexedAction {
  readonly input: number;
  readonly secondaryInput: number;
  readonly output: number;
  readonly action: ParsedAction;
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

/** BuildKit's readUser: user by id sets uid and gid, group by id overrides gid; names need a later issue. */
export function parseOwner(chown: ChownOpt__Output | null | undefined, where: string): Owner | undefined {
  if (!chown) return undefined;
  let uid = 0;
  let gid = 0;
  const byId = (u: UserOpt__Output, what: string): number => {
    if (u.byName) {
      throw new UnimplementedError(
        `${where}: ${what} by name (${JSON.stringify(u.byName.name)}) is not supported yet; use a numeric id`,
      );
    }
    return u.byID ?? 0;
  };
  if (chown.user) {
    uid = byId(chown.user, 'owner');
    gid = uid;
  }
  if (chown.group) gid = byId(chown.group, 'group');
  return { uid, gid };
}

export function parseFileAction(a: FileAction__Output, index: number): IndexedAction {
  const base = { input: toInt(a.input), secondaryInput: toInt(a.secondaryInput), output: toInt(a.output) };
  if (a.copy) {
    const c = a.copy;
    const where = `copy ${c.src}`;
    return {
      ...base,
      action: {
        kind: 'copy',
        opts: {
          src: c.src,
          dest: c.dest,
          owner: parseOwner(c.owner, where),
          mode: c.mode === -1 ? undefined : c.mode,
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
          owner: parseOwner(m.owner, `mkdir ${m.path}`),
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
          owner: parseOwner(m.owner, `mkfile ${m.path}`),
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
          owner: parseOwner(s.owner, `symlink ${s.newpath}`),
          timestampNs: timestamp(s.timestamp),
        },
      },
    };
  }
  throw new InvalidArgumentError(`invalid FileOp: action ${index} has no action set`);
}
