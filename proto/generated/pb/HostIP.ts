// Original file: proto/pb/ops.proto


export interface HostIP {
  'Host'?: (string);
  'IP'?: (string);
}

export interface HostIP__Output {
  'Host': (string);
  'IP': (string);
}
