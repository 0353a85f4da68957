// Original file: proto/pb/ops.proto

export const SecurityMode = {
  SANDBOX: 0,
  INSECURE: 1,
} as const;

export type SecurityMode =
  | 'SANDBOX'
  | 0
  | 'INSECURE'
  | 1

export type SecurityMode__Output = typeof SecurityMode[keyof typeof SecurityMode]
