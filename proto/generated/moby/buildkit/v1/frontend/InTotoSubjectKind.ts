// Original file: proto/moby/buildkit/v1/frontend/gateway.proto

export const InTotoSubjectKind = {
  Self: 0,
  Raw: 1,
} as const;

export type InTotoSubjectKind =
  | 'Self'
  | 0
  | 'Raw'
  | 1

export type InTotoSubjectKind__Output = typeof InTotoSubjectKind[keyof typeof InTotoSubjectKind]
