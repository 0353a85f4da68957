// Original file: proto/moby/filesync/v1/auth.proto


export interface VerifyTokenAuthorityResponse {
  'Signed'?: (Buffer | Uint8Array | string);
}

export interface VerifyTokenAuthorityResponse__Output {
  'Signed': (Buffer);
}
