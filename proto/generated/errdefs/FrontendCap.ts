// Original file: proto/errdefs/errdefs.proto


export interface FrontendCap {
  'name'?: (string);
}

export interface FrontendCap__Output {
  'name': (string);
}
