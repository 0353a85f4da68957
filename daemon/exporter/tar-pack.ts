import type { Pack } from 'tar-stream';
import tar from 'tar-stream';
import { KilnError } from '../../proto/errors.js';

/** An entry of a generated archive (not a file tree): fixed owner 0:0 and mtime 0, so bytes are stable. */
export type PackEntry =
  | { readonly name: string; readonly type: 'directory' }
  | {
      readonly name: string;
      readonly type: 'file';
      readonly size: number;
      /** Opened when the entry is written, so at most one body is read at a time. */
      readonly body: () => AsyncIterable<Uint8Array>;
    };

type Sink = ReturnType<Pack['entry']>;

/** Streams `entries` as a tar; bodies are read as the consumer pulls, never buffered whole. */
export async function* packTar(
  entries: readonly PackEntry[],
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  signal.throwIfAborted();
  const pack = tar.pack();
  const onAbort = () =>
    pack.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
  signal.addEventListener('abort', onAbort, { once: true });
  const producer = writeEntries(pack, entries).then(
    () => pack.finalize(),
    (err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))),
  );
  try {
    for await (const chunk of pack) yield chunk as Uint8Array;
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (!pack.destroyed) pack.destroy();
    await producer;
  }
}

const epoch = new Date(0);

async function writeEntries(pack: Pack, entries: readonly PackEntry[]): Promise<void> {
  for (const e of entries) {
    if (pack.destroying) return;
    if (e.type === 'directory') {
      await new Promise<void>((resolve, reject) => {
        pack.entry({ name: e.name, type: 'directory', mode: 0o755, mtime: epoch }, (err) =>
          err ? reject(err) : resolve(),
        );
      });
      continue;
    }
    let done!: Promise<void>;
    const sink: Sink = await new Promise<Sink>((resolveSink) => {
      done = new Promise<void>((resolve, reject) => {
        resolveSink(
          pack.entry({ name: e.name, type: 'file', size: e.size, mode: 0o644, mtime: epoch }, (err) =>
            err ? reject(err) : resolve(),
          ),
        );
      });
    });
    let written = 0;
    for await (const chunk of e.body()) {
      if (sink.destroying) break;
      written += chunk.byteLength;
      if (written > e.size) break;
      if (!sink.write(chunk)) await drained(sink);
    }
    if (written !== e.size) {
      sink.destroy(new KilnError('INTERNAL', `${e.name}: expected ${e.size} bytes, read ${written}`));
    } else {
      sink.end(undefined);
    }
    await done;
  }
}

function drained(sink: Sink): Promise<void> {
  return new Promise<void>((resolve) => {
    if (sink.destroying) {
      resolve();
      return;
    }
    const done = () => {
      sink.off('drain', done);
      sink.off('close', done);
      resolve();
    };
    sink.on('drain', done);
    sink.on('close', done);
  });
}
