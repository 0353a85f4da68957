import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../../../proto/errors.js';
import type { MergeOp__Output } from '../../../proto/generated/pb/MergeOp.js';
import { copy } from '../../../worker/fs/file-actions.js';
import type { ImmutableRef, RefManager, ResolvedOp } from '../types.js';
import { toInt } from './parse-file-action.js';

/**
 * MergeOp: the inputs' trees laid over each other in order, later ones winning (a file replaces a
 * directory in the way and the reverse). Native snapshots carry no deletion markers, so a merge
 * only adds and replaces.
 */
export function mergeOp(
  op: MergeOp__Output,
  numInputs: number,
  refs: RefManager,
  description: string,
): ResolvedOp {
  const order = (op.inputs ?? []).map((m) => toInt(m.input));
  for (const i of order) {
    if (i < 0 || i >= numInputs)
      throw new InvalidArgumentError(`invalid MergeOp: input ${i} of ${numInputs}`);
  }
  const digest = `sha256:${createHash('sha256')
    .update(JSON.stringify({ Type: 'merge', Inputs: order }))
    .digest('hex')}`;
  return {
    cacheMap: () => Promise.resolve({ digest, deps: Array.from({ length: numInputs }, () => ({})) }),
    async exec(ctx, inputs) {
      const layers = order.map((i) => inputs[i] as ImmutableRef);
      const opts = { description, recordType: 'regular' as const, share: 'hardlink' as const };
      const target = await refs.newMutable(layers[0], opts, ctx.signal);
      try {
        for (const layer of layers.slice(1)) {
          await copy(
            layer.snapshot.dir,
            target.dir,
            {
              src: '/',
              dest: '/',
              followSymlink: false,
              dirCopyContents: true,
              createDestPath: true,
              allowWildcard: false,
              allowEmptyWildcard: false,
              includePatterns: [],
              excludePatterns: [],
              alwaysReplaceExistingDestPaths: true,
            },
            ctx.signal,
          );
        }
        return [await target.commit(ctx.signal)];
      } finally {
        await target.release();
      }
    },
  };
}
