// Original file: proto/errdefs/errdefs.proto


export interface Vertex {
  'digest'?: (string);
}

export interface Vertex__Output {
  'digest': (string);
}
