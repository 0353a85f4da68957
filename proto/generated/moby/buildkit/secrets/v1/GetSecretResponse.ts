// Original file: proto/moby/buildkit/secrets/v1/secrets.proto


export interface GetSecretResponse {
  'data'?: (Buffer | Uint8Array | string);
}

export interface GetSecretResponse__Output {
  'data': (Buffer);
}
