import { dockerfileFrontend } from './dockerfile/builder.js';
import type { Frontend } from './types.js';

/** The built-in frontends by name, as `SolveRequest.Frontend` names them. Filled once per daemon. */
export function createFrontends(): Map<string, Frontend> {
  return new Map<string, Frontend>([['dockerfile.v0', dockerfileFrontend]]);
}

export { dockerfileFrontend } from './dockerfile/builder.js';
export type { Frontend, FrontendBridge, FrontendResult } from './types.js';
