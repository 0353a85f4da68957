import { InvalidArgumentError } from '../../../proto/errors.js';

/** LLB attr keys of an http(s) source (solver/pb/attr.go). */
export const HttpAttrKeys = {
  checksum: 'http.checksum',
  filename: 'http.filename',
  perm: 'http.perm',
  uid: 'http.uid',
  gid: 'http.gid',
} as const;

/** An `http://` / `https://` SourceOp, parsed once. */
export interface HttpAttrs {
  readonly url: URL;
  /** `sha256:<hex>` the content must have; undefined when not pinned. */
  readonly checksum: string | undefined;
  /** Name of the file in the snapshot; undefined: from the response or the URL. */
  readonly filename: string | undefined;
  /** 0 means the default (0600), as in BuildKit. */
  readonly perm: number;
  readonly uid: number;
  readonly gid: number;
}

/** Go's strconv.ParseInt(v, 0, 32): `0644` and `0o644` are octal, `0x1a4` hex, else decimal. */
function parseGoInt(key: string, raw: string): number {
  const v = raw.trim();
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(v)) n = parseInt(v.slice(2), 16);
  else if (/^0[oO][0-7]+$/.test(v)) n = parseInt(v.slice(2), 8);
  else if (/^0[0-7]+$/.test(v)) n = parseInt(v.slice(1), 8);
  else if (/^[0-9]+$/.test(v)) n = parseInt(v, 10);
  else throw new InvalidArgumentError(`invalid ${key} attribute ${JSON.stringify(raw)}: not a number`);
  if (n > 0x7fffffff)
    throw new InvalidArgumentError(`invalid ${key} attribute ${JSON.stringify(raw)}: out of range`);
  return n;
}

export function parseHttpAttrs(identifier: string, attrs: Readonly<Record<string, string>>): HttpAttrs {
  let url: URL;
  try {
    url = new URL(identifier);
  } catch (err) {
    throw new InvalidArgumentError(`invalid http source URL ${JSON.stringify(identifier)}`, { cause: err });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`invalid http source URL ${JSON.stringify(identifier)}: not http(s)`);
  }
  const checksum = attrs[HttpAttrKeys.checksum];
  if (checksum !== undefined && checksum !== '' && !/^sha256:[0-9a-f]{64}$/.test(checksum)) {
    throw new InvalidArgumentError(
      `invalid ${HttpAttrKeys.checksum} ${JSON.stringify(checksum)}: want sha256:<64 hex digits>`,
    );
  }
  const filename = attrs[HttpAttrKeys.filename];
  if (filename !== undefined && filename !== '' && !isPlainName(filename)) {
    throw new InvalidArgumentError(
      `invalid ${HttpAttrKeys.filename} ${JSON.stringify(filename)}: not a file name`,
    );
  }
  const num = (key: string): number => {
    const raw = attrs[key];
    return raw === undefined || raw === '' ? 0 : parseGoInt(key, raw);
  };
  return {
    url,
    checksum: checksum === '' ? undefined : checksum,
    filename: filename === '' ? undefined : filename,
    perm: num(HttpAttrKeys.perm),
    uid: num(HttpAttrKeys.uid),
    gid: num(HttpAttrKeys.gid),
  };
}

/** A single path component: no separators, not `.` or `..`. */
export function isPlainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}
