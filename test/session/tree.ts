import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';

/** A comparable description of a directory tree (content included, mtimes to the µs). */
export interface TreeEntry {
  readonly type: 'dir' | 'file' | 'symlink' | 'other';
  readonly mode: number;
  readonly mtimeUs: bigint;
  readonly content?: string;
  readonly target?: string;
  /** Paths in this tree sharing the inode (hardlink group), sorted. */
  readonly links?: string;
}

export async function describeTree(root: string): Promise<Record<string, TreeEntry>> {
  const out: Record<string, TreeEntry> = {};
  const inodes = new Map<bigint, string[]>();
  const walk = async (rel: string) => {
    const names = (await readdir(path.join(root, rel))).sort();
    for (const n of names) {
      const r = rel === '' ? n : `${rel}/${n}`;
      const abs = path.join(root, r);
      const st = await lstat(abs, { bigint: true });
      const mode = Number(st.mode & 0o7777n);
      const mtimeUs = st.mtimeNs / 1000n;
      if (st.isDirectory()) {
        out[r] = { type: 'dir', mode, mtimeUs };
        await walk(r);
      } else if (st.isSymbolicLink()) {
        out[r] = { type: 'symlink', mode: 0, mtimeUs: 0n, target: await readlink(abs) };
      } else if (st.isFile()) {
        out[r] = { type: 'file', mode, mtimeUs, content: (await readFile(abs)).toString('base64') };
        const list = inodes.get(st.ino) ?? [];
        list.push(r);
        inodes.set(st.ino, list);
      } else {
        out[r] = { type: 'other', mode, mtimeUs };
      }
    }
  };
  await walk('');
  for (const list of inodes.values()) {
    if (list.length < 2) continue;
    for (const p of list) out[p] = { ...out[p]!, links: list.sort().join(',') };
  }
  return out;
}
