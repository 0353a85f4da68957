/**
 * A container filesystem as data: `docker export`'s tarball read into a map path → entry, so two
 * images can be compared without caring about mtimes or tar entry order.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import tar from 'tar-stream';

export type EntryType = 'file' | 'directory' | 'symlink' | 'link' | 'other';

export interface TreeEntry {
  readonly type: EntryType;
  /** Permission bits including setuid/setgid/sticky (0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Symlink target or hard-link source. */
  readonly linkname?: string;
  /** sha256 of a regular file's content, and its first bytes for readable reports. */
  readonly digest?: string;
  readonly preview?: string;
}

export type Tree = ReadonlyMap<string, TreeEntry>;

/**
 * What `docker create` itself adds to every container (and so says nothing about the builder):
 * the mount points of the runtime and the files docker bind-mounts over.
 */
const dockerAdded = new Set([
  '.dockerenv',
  'etc/hosts',
  'etc/hostname',
  'etc/resolv.conf',
  'etc/mtab',
  'proc',
  'sys',
  'dev',
]);

export function isDockerAdded(p: string): boolean {
  return dockerAdded.has(p) || p.startsWith('dev/') || p.startsWith('proc/') || p.startsWith('sys/');
}

function normalize(name: string): string {
  let p = name;
  while (p.startsWith('./')) p = p.slice(2);
  while (p.startsWith('/')) p = p.slice(1);
  while (p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

function entryType(t: string | null | undefined): EntryType {
  switch (t) {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'directory':
      return 'directory';
    case 'symlink':
      return 'symlink';
    case 'link':
      return 'link';
    default:
      return 'other';
  }
}

const previewBytes = 80;

/** Reads an (uncompressed) tarball of a root filesystem, leaving out what docker adds. */
export async function readTree(file: string, signal: AbortSignal): Promise<Map<string, TreeEntry>> {
  const extract = tar.extract();
  const tree = new Map<string, TreeEntry>();
  const input = createReadStream(file, { signal });
  input.pipe(extract);
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const p = normalize(h.name);
      const type = entryType(h.type);
      const hash = createHash('sha256');
      const head: Buffer[] = [];
      let headLen = 0;
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        hash.update(chunk);
        if (headLen < previewBytes) {
          head.push(chunk);
          headLen += chunk.length;
        }
      }
      if (p === '' || isDockerAdded(p)) continue;
      tree.set(p, {
        type,
        mode: (h.mode ?? 0) & 0o7777,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        ...(h.linkname ? { linkname: type === 'link' ? normalize(h.linkname) : h.linkname } : {}),
        ...(type === 'file'
          ? {
              digest: hash.digest('hex'),
              preview: Buffer.concat(head).subarray(0, previewBytes).toString('utf8'),
            }
          : {}),
      });
    }
  } finally {
    input.destroy();
  }
  return tree;
}

export function describeEntry(e: TreeEntry | undefined): string {
  if (!e) return 'absent';
  const parts = [e.type, `0${e.mode.toString(8)}`, `${e.uid}:${e.gid}`];
  if (e.linkname !== undefined) parts.push(`-> ${e.linkname}`);
  if (e.preview !== undefined) parts.push(JSON.stringify(e.preview));
  return parts.join(' ');
}

/** One line per path that differs: `path: kiln=<entry> docker=<entry>`. */
export function diffTrees(kiln: Tree, docker: Tree): string[] {
  const paths = [...new Set([...kiln.keys(), ...docker.keys()])].sort();
  const out: string[] = [];
  for (const p of paths) {
    const k = kiln.get(p);
    const d = docker.get(p);
    if (k && d && sameEntry(k, d)) continue;
    out.push(`/${p}: kiln=${describeEntry(k)} docker=${describeEntry(d)}`);
  }
  return out;
}

function sameEntry(a: TreeEntry, b: TreeEntry): boolean {
  return (
    a.type === b.type &&
    a.mode === b.mode &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    a.linkname === b.linkname &&
    a.digest === b.digest
  );
}
