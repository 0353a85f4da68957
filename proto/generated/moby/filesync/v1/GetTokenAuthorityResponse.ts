// Original file: proto/moby/filesync/v1/auth.proto


export interface GetTokenAuthorityResponse {
  'PublicKey'?: (Buffer | Uint8Array | string);
}

export interface GetTokenAuthorityResponse__Output {
  'PublicKey': (Buffer);
}
