/**
 * BuildKit's encoding of file-sync request metadata (session/filesync): gRPC header values are
 * ASCII, so when any value of a key has a non-ASCII character, every value of that key is
 * query-escaped (Go's url.QueryEscape) and `<key>-encoded: 1` is added. ASCII-only values go as
 * they are, which keeps older peers working.
 */

const UNRESERVED = /^[A-Za-z0-9\-_.~]$/;

/** Go's url.QueryEscape: A-Z a-z 0-9 - _ . ~ kept, space as '+', every other UTF-8 byte as %XX. */
export function queryEscape(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (byte < 0x80 && UNRESERVED.test(ch)) out += ch;
    else if (byte === 0x20) out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Go's url.QueryUnescape: '+' is a space, %XX a byte, anything else its own UTF-8 bytes. A bad
 * escape is an error in Go, which BuildKit's decodeOpts turns into an empty value: so here too.
 */
export function queryUnescape(s: string): string {
  const src = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(src.byteLength);
  let n = 0;
  for (let i = 0; i < src.byteLength; i++) {
    const b = src[i]!;
    if (b === 0x2b) out[n++] = 0x20;
    else if (b === 0x25) {
      const hex = src.toString('latin1', i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return '';
      out[n++] = parseInt(hex, 16);
      i += 2;
    } else out[n++] = b;
  }
  return out.toString('utf8', 0, n);
}

/** The values of `key` as BuildKit sends them, plus its `-encoded` marker when they were escaped. */
export function encodeMetadataValues(key: string, values: readonly string[]): [string, string[]][] {
  // Any character past ASCII (a rune > 0x7f in Go's terms) makes the whole key escaped.
  if (!values.some((v) => /[^\x00-\x7f]/.test(v))) return [[key, [...values]]];
  return [
    [key, values.map(queryEscape)],
    [`${key}-encoded`, ['1']],
  ];
}

/** `values` of a key as sent; unescaped when the `-encoded` marker parses as true (Go's ParseBool). */
export function decodeMetadataValues(values: readonly string[], marker: string | undefined): string[] {
  const on = marker !== undefined && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(marker);
  return on ? values.map(queryUnescape) : [...values];
}
