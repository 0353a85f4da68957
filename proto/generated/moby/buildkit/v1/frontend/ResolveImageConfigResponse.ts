// Original file: proto/moby/buildkit/v1/frontend/gateway.proto


export interface ResolveImageConfigResponse {
  'Digest'?: (string);
  'Config'?: (Buffer | Uint8Array | string);
  'Ref'?: (string);
}

export interface ResolveImageConfigResponse__Output {
  'Digest': (string);
  'Config': (Buffer);
  'Ref': (string);
}
