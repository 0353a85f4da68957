// Original file: proto/moby/buildkit/v1/frontend/gateway.proto

export const AttestationKind = {
  InToto: 0,
  Bundle: 1,
} as const;

export type AttestationKind =
  | 'InToto'
  | 0
  | 'Bundle'
  | 1

export type AttestationKind__Output = typeof AttestationKind[keyof typeof AttestationKind]
