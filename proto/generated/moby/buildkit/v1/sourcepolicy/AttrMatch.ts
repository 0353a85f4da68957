// Original file: proto/moby/buildkit/v1/sourcepolicy/policy.proto

export const AttrMatch = {
  EQUAL: 0,
  NOTEQUAL: 1,
  MATCHES: 2,
} as const;

export type AttrMatch =
  | 'EQUAL'
  | 0
  | 'NOTEQUAL'
  | 1
  | 'MATCHES'
  | 2

export type AttrMatch__Output = typeof AttrMatch[keyof typeof AttrMatch]
