// Original file: proto/moby/buildkit/v1/control.proto


export interface StatusRequest {
  'Ref'?: (string);
}

export interface StatusRequest__Output {
  'Ref': (string);
}
