import { KilnError } from '../../proto/errors.js';
import { isLlbVertexOp } from '../solver/llb-types.js';
import type { Edge } from '../solver/types.js';

/** The entitlements BuildKit knows; a request for anything else is refused. */
export const knownEntitlements = ['network.host', 'security.insecure'] as const;
export type Entitlement = (typeof knownEntitlements)[number];

export class EntitlementError extends KilnError {
  constructor(message: string) {
    super('PERMISSION_DENIED', message);
    this.name = 'EntitlementError';
  }
}

/**
 * What a build may use: the entitlements its client asked for (`--allow`), each of which the
 * daemon must allow (`--allow-insecure-entitlement`, `insecure-entitlements` in kilnd.toml).
 */
export function grantEntitlements(
  requested: readonly string[],
  allowedByDaemon: readonly string[],
): ReadonlySet<Entitlement> {
  const granted = new Set<Entitlement>();
  for (const e of requested) {
    if (!(knownEntitlements as readonly string[]).includes(e)) {
      throw new EntitlementError(
        `unknown entitlement ${JSON.stringify(e)} (known: ${knownEntitlements.join(', ')})`,
      );
    }
    if (!allowedByDaemon.includes(e)) {
      throw new EntitlementError(
        `granting entitlement ${e} is not allowed by build daemon configuration (start kilnd with --allow-insecure-entitlement ${e})`,
      );
    }
    granted.add(e as Entitlement);
  }
  return granted;
}

interface ExecFields {
  readonly network?: number;
  readonly security?: number;
}

/**
 * Refuses a definition whose RUN steps need an entitlement the build was not granted, before
 * anything runs (BuildKit's ValidateEntitlements): `--network=host` needs network.host,
 * `--security=insecure` needs security.insecure.
 */
export function checkEntitlements(edge: Edge, granted: ReadonlySet<Entitlement>): void {
  const seen = new Set<string>();
  const stack = [edge.vertex];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (seen.has(v.digest)) continue;
    seen.add(v.digest);
    for (const input of v.inputs) stack.push(input.vertex);
    if (!isLlbVertexOp(v.op)) continue;
    const exec = v.op.op.exec as ExecFields | null | undefined;
    if (!exec) continue;
    if (exec.network === 1 && !granted.has('network.host')) {
      throw new EntitlementError(`${v.name}: network.host is not allowed (build with --allow network.host)`);
    }
    if (exec.security === 1 && !granted.has('security.insecure')) {
      throw new EntitlementError(
        `${v.name}: security.insecure is not allowed (build with --allow security.insecure)`,
      );
    }
  }
}
