// Original file: proto/moby/buildkit/v1/control.proto


export interface BytesMessage {
  'data'?: (Buffer | Uint8Array | string);
}

export interface BytesMessage__Output {
  'data': (Buffer);
}
