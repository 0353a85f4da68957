// Original file: proto/moby/sshforward/v1/ssh.proto


export interface BytesMessage {
  'data'?: (Buffer | Uint8Array | string);
}

export interface BytesMessage__Output {
  'data': (Buffer);
}
