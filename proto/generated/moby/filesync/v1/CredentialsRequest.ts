// Original file: proto/moby/filesync/v1/auth.proto


export interface CredentialsRequest {
  'Host'?: (string);
}

export interface CredentialsRequest__Output {
  'Host': (string);
}
