// Original file: proto/pb/ops.proto

export const MountContentCache = {
  DEFAULT: 0,
  ON: 1,
  OFF: 2,
} as const;

export type MountContentCache =
  | 'DEFAULT'
  | 0
  | 'ON'
  | 1
  | 'OFF'
  | 2

export type MountContentCache__Output = typeof MountContentCache[keyof typeof MountContentCache]
