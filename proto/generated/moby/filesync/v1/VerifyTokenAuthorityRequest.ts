// Original file: proto/moby/filesync/v1/auth.proto


export interface VerifyTokenAuthorityRequest {
  'Host'?: (string);
  'Payload'?: (Buffer | Uint8Array | string);
  'Salt'?: (Buffer | Uint8Array | string);
}

export interface VerifyTokenAuthorityRequest__Output {
  'Host': (string);
  'Payload': (Buffer);
  'Salt': (Buffer);
}
