// Original file: proto/pb/ops.proto


export interface SourceOp {
  'identifier'?: (string);
  'attrs'?: ({[key: string]: string});
}

export interface SourceOp__Output {
  'identifier': (string);
  'attrs': ({[key: string]: string});
}
