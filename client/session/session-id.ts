import { randomBytes } from 'node:crypto';

/** BuildKit's identity.NewID: 17 random bytes with the high bit set, base36, characters [1:26]. */
export function newSessionId(): string {
  const b = randomBytes(17);
  b[0] = (b[0] ?? 0) | 0x80;
  return BigInt(`0x${b.toString('hex')}`)
    .toString(36)
    .slice(1, 26);
}
