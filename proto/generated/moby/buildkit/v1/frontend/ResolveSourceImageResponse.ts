// Original file: proto/moby/buildkit/v1/frontend/gateway.proto


export interface ResolveSourceImageResponse {
  'Digest'?: (string);
  'Config'?: (Buffer | Uint8Array | string);
}

export interface ResolveSourceImageResponse__Output {
  'Digest': (string);
  'Config': (Buffer);
}
