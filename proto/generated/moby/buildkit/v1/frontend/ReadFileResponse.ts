// Original file: proto/moby/buildkit/v1/frontend/gateway.proto


export interface ReadFileResponse {
  'Data'?: (Buffer | Uint8Array | string);
}

export interface ReadFileResponse__Output {
  'Data': (Buffer);
}
