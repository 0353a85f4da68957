// Original file: proto/moby/filesync/v1/auth.proto


export interface CredentialsResponse {
  'Username'?: (string);
  'Secret'?: (string);
}

export interface CredentialsResponse__Output {
  'Username': (string);
  'Secret': (string);
}
