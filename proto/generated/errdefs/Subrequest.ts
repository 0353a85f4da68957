// Original file: proto/errdefs/errdefs.proto


export interface Subrequest {
  'name'?: (string);
}

export interface Subrequest__Output {
  'name': (string);
}
