// Original file: proto/pb/ops.proto

export const CacheSharingOpt = {
  SHARED: 0,
  PRIVATE: 1,
  LOCKED: 2,
} as const;

export type CacheSharingOpt =
  | 'SHARED'
  | 0
  | 'PRIVATE'
  | 1
  | 'LOCKED'
  | 2

export type CacheSharingOpt__Output = typeof CacheSharingOpt[keyof typeof CacheSharingOpt]
