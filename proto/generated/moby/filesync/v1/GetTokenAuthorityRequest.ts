// Original file: proto/moby/filesync/v1/auth.proto


export interface GetTokenAuthorityRequest {
  'Host'?: (string);
  'Salt'?: (Buffer | Uint8Array | string);
}

export interface GetTokenAuthorityRequest__Output {
  'Host': (string);
  'Salt': (Buffer);
}
