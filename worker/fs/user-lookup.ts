import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, throwIfAborted } from '../../proto/errors.js';
import { isErrno, resolveInRoot } from './root-path.js';

/**
 * `USER`/`--chown` names resolved against the image's own /etc/passwd and /etc/group (runc's
 * libcontainer/user GetExecUser semantics, which BuildKit uses): numbers need no entry, names do,
 * and supplementary groups are only looked up when no group was given.
 */
export interface ResolvedUser {
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids: readonly number[];
}

interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  readonly members: readonly string[];
}

const NUMERIC = /^[0-9]+$/;

export async function resolveUser(rootDir: string, spec: string, signal: AbortSignal): Promise<ResolvedUser> {
  throwIfAborted(signal);
  const trimmed = spec.trim();
  if (trimmed === '') {
    // The default user may legitimately be missing from a minimal image's passwd file.
    try {
      return await lookup(rootDir, '0', '', signal);
    } catch {
      return { uid: 0, gid: 0, additionalGids: [] };
    }
  }
  const colon = trimmed.indexOf(':');
  const userArg = colon < 0 ? trimmed : trimmed.slice(0, colon);
  const groupArg = colon < 0 ? '' : trimmed.slice(colon + 1);
  return lookup(rootDir, userArg === '' ? '0' : userArg, groupArg, signal);
}

/** A group name or number to a gid, through the root's /etc/group. */
export async function resolveGroup(rootDir: string, spec: string, signal: AbortSignal): Promise<number> {
  throwIfAborted(signal);
  const arg = spec.trim();
  const groups = await readGroups(rootDir);
  const found = groups.find((g) => g.name === arg || String(g.gid) === arg);
  if (found) return found.gid;
  if (NUMERIC.test(arg)) return toId(arg, 'group');
  throw new InvalidArgumentError(`unable to find group ${arg}: no matching entries in group file`);
}

async function lookup(
  rootDir: string,
  userArg: string,
  groupArg: string,
  signal: AbortSignal,
): Promise<ResolvedUser> {
  const users = await readPasswd(rootDir);
  throwIfAborted(signal);
  const numeric = NUMERIC.test(userArg);
  const match = users.find((u) => u.name === userArg || (numeric && String(u.uid) === userArg));
  let uid: number;
  let gid = 0;
  if (match) {
    uid = match.uid;
    gid = match.gid;
  } else if (numeric) {
    uid = toId(userArg, 'user');
  } else {
    throw new InvalidArgumentError(`unable to find user ${userArg}: no matching entries in passwd file`);
  }
  if (groupArg === '' && !match) return { uid, gid, additionalGids: [] };
  const groups = await readGroups(rootDir);
  if (groupArg !== '') {
    const g = groups.find((e) => e.name === groupArg || String(e.gid) === groupArg);
    if (g) return { uid, gid: g.gid, additionalGids: [] };
    if (NUMERIC.test(groupArg)) return { uid, gid: toId(groupArg, 'group'), additionalGids: [] };
    throw new InvalidArgumentError(`unable to find group ${groupArg}: no matching entries in group file`);
  }
  const name = (match as PasswdEntry).name;
  const additionalGids = groups.filter((g) => g.members.includes(name)).map((g) => g.gid);
  return { uid, gid, additionalGids };
}

function toId(s: string, what: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n > 0xffffffff)
    throw new InvalidArgumentError(`invalid ${what} id ${JSON.stringify(s)}`);
  return n;
}

async function readInRoot(rootDir: string, file: string): Promise<string> {
  try {
    return await readFile(await resolveInRoot(rootDir, file), 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR') || isErrno(err, 'EISDIR')) return '';
    throw err;
  }
}

function records(text: string): string[][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

async function readPasswd(rootDir: string): Promise<PasswdEntry[]> {
  const out: PasswdEntry[] = [];
  for (const f of records(await readInRoot(rootDir, '/etc/passwd'))) {
    const [name, , uid, gid] = f;
    if (name === undefined || uid === undefined || !NUMERIC.test(uid)) continue;
    out.push({ name, uid: Number(uid), gid: gid !== undefined && NUMERIC.test(gid) ? Number(gid) : 0 });
  }
  return out;
}

async function readGroups(rootDir: string): Promise<GroupEntry[]> {
  const out: GroupEntry[] = [];
  for (const f of records(await readInRoot(rootDir, '/etc/group'))) {
    const [name, , gid, list] = f;
    if (name === undefined || gid === undefined || !NUMERIC.test(gid)) continue;
    const members = (list ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter((m) => m !== '');
    out.push({ name, gid: Number(gid), members });
  }
  return out;
}
