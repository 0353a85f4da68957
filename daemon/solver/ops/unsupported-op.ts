import { UnimplementedError } from '../../../proto/errors.js';
import type { ResolvedOp } from '../types.js';

/** An op Kiln cannot run yet: loading succeeds, solving it fails with a clear message. */
export function unsupportedOp(message: string): ResolvedOp {
  return {
    cacheMap: () => Promise.reject(new UnimplementedError(message)),
    exec: () => Promise.reject(new UnimplementedError(message)),
  };
}
