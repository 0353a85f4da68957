// Original file: proto/moby/buildkit/v1/sourcepolicy/policy.proto

export const PolicyAction = {
  ALLOW: 0,
  DENY: 1,
  CONVERT: 2,
} as const;

export type PolicyAction =
  | 'ALLOW'
  | 0
  | 'DENY'
  | 1
  | 'CONVERT'
  | 2

export type PolicyAction__Output = typeof PolicyAction[keyof typeof PolicyAction]
