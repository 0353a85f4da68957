/**
 * Tar header encoding shared by every tar Kiln writes (file trees, layers, generated archives).
 * The bytes are those tar-stream 3 wrote for the same headers (Kiln's archives were made with it,
 * and a layer's digest must not change with the writer): ustar where the name splits into
 * prefix/name and everything is ASCII, else a PAX header carrying `path` (and `linkpath`) before a
 * ustar header named `PaxHeader`; ids past 6 octal digits saturate to 777777, sizes past 11 digits
 * go base-256, mtimes are whole seconds (truncated), a mode of 0 becomes 0644 (0755 for directories).
 *
 * The functions reference nothing but each other and `Buffer`: the tar producer thread runs their
 * source text (see tar-thread.ts), so they must stay self-contained.
 */

/** Entry kinds, with the ustar type flag each is written as. */
export const TarType = {
  file: 0,
  link: 1,
  symlink: 2,
  'character-device': 3,
  'block-device': 4,
  directory: 5,
  fifo: 6,
} as const;

export interface TarHeader {
  /** Path inside the archive; directories end in `/`. */
  readonly name: string;
  /** ustar type flag (TarType). */
  readonly flag: number;
  /** Permission and special bits; 0 means the default (0644, 0755 for directories). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Body bytes (files only; 0 otherwise). */
  readonly size: number;
  /** Modification time in milliseconds; written as whole seconds, truncated. */
  readonly mtimeMs: number;
  /** Target of a symlink or hard link; '' for none. */
  readonly linkname: string;
  readonly devmajor: number;
  readonly devminor: number;
}

/** Bytes that `encodeTarHeader` may write for `h`: an upper bound, for sizing output buffers. */
export function tarHeaderMaxBytes(h: TarHeader): number {
  // PAX records: each string at most 3 UTF-8 bytes per UTF-16 unit, plus keys and lengths.
  return 1024 + 512 * Math.ceil((3 * (h.name.length + h.linkname.length) + 64) / 512);
}

/**
 * Writes the header block(s) for `h` at `out[off]` and returns how many bytes were written (512, or
 * PAX header + records + padding + 512). `out` needs `tarHeaderMaxBytes(h)` bytes of room.
 */
export function encodeTarHeader(out: Buffer, off: number, h: TarHeader): number {
  const mode = h.mode !== 0 ? h.mode : h.flag === 5 ? 0o755 : 0o644;
  if (tarUstar(out, off, h.name, mode, h, h.size, h.flag, h.linkname)) return 512;
  let records = tarPaxRecord(' path=' + h.name + '\n');
  if (h.linkname) records += tarPaxRecord(' linkpath=' + h.linkname + '\n');
  const link = h.linkname ? 'PaxHeader' : '';
  const recordBytes = Buffer.byteLength(records);
  tarUstar(out, off, 'PaxHeader', mode, h, recordBytes, 72, link);
  let at = off + 512;
  out.fill(0, at, at + tarPadded(recordBytes));
  out.write(records, at, 'utf8');
  at += tarPadded(recordBytes);
  tarUstar(out, at, 'PaxHeader', mode, h, h.size, h.flag, link);
  return at + 512 - off;
}

/** `n` rounded up to whole 512-byte blocks. */
export function tarPadded(n: number): number {
  return (n + 511) & ~511;
}

/** A PAX record: its own length in decimal, then `str` (which starts with a space). */
function tarPaxRecord(str: string): string {
  const len = Buffer.byteLength(str);
  // As tar-stream computes it (the same float arithmetic), so lengths match byte for byte.
  let digits = Math.floor(Math.log(len) / Math.log(10)) + 1;
  if (len + digits >= Math.pow(10, digits)) digits++;
  return String(len + digits) + str;
}

/** One ustar block, or false when `fullName`/`linkname` do not fit (PAX needed). */
function tarUstar(
  out: Buffer,
  off: number,
  fullName: string,
  mode: number,
  h: TarHeader,
  size: number,
  flag: number,
  linkname: string,
): boolean {
  let name = fullName;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) > 0x7f) return false;
  let prefix = '';
  while (name.length > 100) {
    const i = name.indexOf('/');
    if (i === -1) return false;
    prefix += prefix ? '/' + name.slice(0, i) : name.slice(0, i);
    name = name.slice(i + 1);
  }
  if (prefix.length > 155) return false;
  if (linkname && Buffer.byteLength(linkname) > 100) return false;
  out.fill(0, off, off + 512);
  tarAscii(out, off, name);
  tarOctal(out, off + 100, mode & 0o7777, 6);
  tarOctal(out, off + 108, h.uid, 6);
  tarOctal(out, off + 116, h.gid, 6);
  if (size.toString(8).length > 11) {
    out[off + 124] = 0x80;
    let num = size;
    for (let i = 11; i > 0; i--) {
      out[off + 124 + i] = num & 0xff;
      num = Math.floor(num / 0x100);
    }
  } else {
    tarOctal(out, off + 124, size, 11);
  }
  tarOctal(out, off + 136, (h.mtimeMs / 1000) | 0, 11);
  out[off + 156] = 0x30 + flag;
  if (linkname) out.write(linkname, off + 157, 'utf8');
  // "ustar\0" "00"
  out[off + 257] = 0x75;
  out[off + 258] = 0x73;
  out[off + 259] = 0x74;
  out[off + 260] = 0x61;
  out[off + 261] = 0x72;
  out[off + 263] = 0x30;
  out[off + 264] = 0x30;
  tarOctal(out, off + 329, h.devmajor, 6);
  tarOctal(out, off + 337, h.devminor, 6);
  if (prefix) tarAscii(out, off + 345, prefix);
  let sum = 8 * 32;
  for (let i = off; i < off + 148; i++) sum += out[i] as number;
  for (let i = off + 156; i < off + 512; i++) sum += out[i] as number;
  tarOctal(out, off + 148, sum, 6);
  return true;
}

function tarAscii(out: Buffer, off: number, s: string): void {
  for (let i = 0; i < s.length; i++) out[off + i] = s.charCodeAt(i);
}

/** `n` digits of octal then a space; all 7s when the value does not fit (as tar-stream does). */
function tarOctal(out: Buffer, off: number, val: number, n: number): void {
  const s = val.toString(8);
  if (s.length > n) {
    out.fill(0x37, off, off + n);
  } else {
    out.fill(0x30, off, off + n - s.length);
    tarAscii(out, off + n - s.length, s);
  }
  out[off + n] = 0x20;
}

/** Source text of the functions above, for the producer thread's script. */
export const tarHeaderSource: readonly string[] = [
  encodeTarHeader,
  tarPadded,
  tarPaxRecord,
  tarUstar,
  tarAscii,
  tarOctal,
  tarHeaderMaxBytes,
].map((f) => f.toString());
