import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { produceTar } from '../../worker/fs/tar-producer.js';
import { signal, tempDir } from './fs-helpers.js';

/*
 * A layer's changes are all listed (lstat'ed) before the first byte is written: a file that is
 * swapped for something else by then must not be read through it.
 */

async function layerWithSwap(child: string, swap: () => Promise<void>): Promise<Buffer> {
  const parts: Buffer[] = [];
  let swapped = false;
  for await (const c of produceTar({ kind: 'diff', parent: undefined, child, clampMs: undefined }, signal, {
    chunkBytes: 4096,
    credit: 1,
  })) {
    parts.push(Buffer.from(c));
    if (!swapped) {
      swapped = true;
      // The thread is in the middle of 'a', waiting for credit: 'b' was listed, not yet opened.
      await swap();
    }
  }
  return Buffer.concat(parts);
}

describe('the tar producer reading a file that changed kind after it was listed', () => {
  it('does not follow a symlink put in its place', async () => {
    await using t = await tempDir();
    await using outside = await tempDir();
    const secret = path.join(outside.path, 'secret');
    await writeFile(secret, 'SECRET-SECRET-SECRET');
    const child = path.join(t.path, 'child');
    execFileSync('mkdir', [child]);
    await writeFile(path.join(child, 'a'), randomBytes(256 * 1024));
    await writeFile(path.join(child, 'b'), 'innocent');
    const run = layerWithSwap(child, async () => {
      await rm(path.join(child, 'b'));
      await symlink(secret, path.join(child, 'b'));
    });
    await expect(run).rejects.toMatchObject({ code: 'ELOOP' });
  });

  it('does not block on a FIFO put in its place', async () => {
    await using t = await tempDir();
    const child = path.join(t.path, 'child');
    execFileSync('mkdir', [child]);
    await writeFile(path.join(child, 'a'), randomBytes(256 * 1024));
    await writeFile(path.join(child, 'b'), 'innocent');
    const fifo = path.join(child, 'b');
    const run = layerWithSwap(child, async () => {
      await rm(fifo);
      execFileSync('mkfifo', [fifo]);
    });
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((resolve) => {
      timer = setTimeout(() => resolve('hung'), 5000);
    });
    const outcome = await Promise.race([
      run.then(
        () => 'ok',
        (err: unknown) => err,
      ),
      hung,
    ]);
    clearTimeout(timer);
    if (outcome === 'hung') {
      // Unblock the thread's open() so that the test run can end.
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      await run.catch(() => {});
    }
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toMatch(/shrank while being archived/);
  }, 15_000);
});

describe('the tar producer canceled', () => {
  it('fails with an Error even when the abort reason is not one', async () => {
    await using t = await tempDir();
    await writeFile(path.join(t.path, 'big'), randomBytes(1024 * 1024));
    const ac = new AbortController();
    const run = async () => {
      for await (const _ of produceTar({ kind: 'dir', root: t.path }, ac.signal, {
        chunkBytes: 64 * 1024,
        credit: 1,
      }))
        ac.abort('user pressed ^C');
    };
    const err: unknown = await run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/user pressed \^C/);
    const before = new AbortController();
    before.abort('early');
    const early: unknown = await produceTar({ kind: 'dir', root: t.path }, before.signal)
      .next()
      .catch((e: unknown) => e);
    expect(early).toBeInstanceOf(Error);
  });
});
