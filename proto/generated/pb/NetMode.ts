// Original file: proto/pb/ops.proto

export const NetMode = {
  UNSET: 0,
  HOST: 1,
  NONE: 2,
} as const;

export type NetMode =
  | 'UNSET'
  | 0
  | 'HOST'
  | 1
  | 'NONE'
  | 2

export type NetMode__Output = typeof NetMode[keyof typeof NetMode]
