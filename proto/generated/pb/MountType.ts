// Original file: proto/pb/ops.proto

export const MountType = {
  BIND: 0,
  SECRET: 1,
  SSH: 2,
  CACHE: 3,
  TMPFS: 4,
} as const;

export type MountType =
  | 'BIND'
  | 0
  | 'SECRET'
  | 1
  | 'SSH'
  | 2
  | 'CACHE'
  | 3
  | 'TMPFS'
  | 4

export type MountType__Output = typeof MountType[keyof typeof MountType]
