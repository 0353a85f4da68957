/** Session message size for tarballs sent to the client (well below gRPC's 4 MiB receive limit). */
export const SendChunkBytes = 256 * 1024;

/**
 * Regroups a byte stream into chunks of about `size` bytes. A tar stream comes as 512-byte headers
 * and file-sized bodies; sent as is, each became its own session message (a tunnel round trip and
 * framing apiece), which made archives of many small files crawl. Larger chunks are cut into views
 * of `size` bytes (no copy): a message the size of the session's send backlog waits for the
 * transport to drain before the next one is taken.
 */
export async function* coalesce(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let bytes = 0;
  const flush = (): Uint8Array => {
    const out = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts, bytes);
    parts = [];
    bytes = 0;
    return out;
  };
  for await (const chunk of source) {
    if (chunk.byteLength === 0) continue;
    if (bytes > 0 && bytes + chunk.byteLength > size) yield flush();
    let rest = chunk;
    while (rest.byteLength >= size) {
      yield rest.byteLength === size ? rest : rest.subarray(0, size);
      rest = rest.subarray(size);
    }
    if (rest.byteLength === 0) continue;
    parts.push(rest);
    bytes += rest.byteLength;
  }
  if (bytes > 0) yield flush();
}
