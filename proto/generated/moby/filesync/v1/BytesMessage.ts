// Original file: proto/moby/filesync/v1/filesync.proto


export interface BytesMessage {
  'data'?: (Buffer | Uint8Array | string);
}

export interface BytesMessage__Output {
  'data': (Buffer);
}
