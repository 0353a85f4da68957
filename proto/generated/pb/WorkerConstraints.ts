// Original file: proto/pb/ops.proto


export interface WorkerConstraints {
  'filter'?: (string)[];
}

export interface WorkerConstraints__Output {
  'filter': (string)[];
}
