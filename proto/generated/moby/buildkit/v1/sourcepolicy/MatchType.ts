// Original file: proto/moby/buildkit/v1/sourcepolicy/policy.proto

export const MatchType = {
  WILDCARD: 0,
  EXACT: 1,
  REGEX: 2,
} as const;

export type MatchType =
  | 'WILDCARD'
  | 0
  | 'EXACT'
  | 1
  | 'REGEX'
  | 2

export type MatchType__Output = typeof MatchType[keyof typeof MatchType]
