// Original file: proto/moby/buildkit/v1/control.proto


export interface ListWorkersRequest {
  'filter'?: (string)[];
}

export interface ListWorkersRequest__Output {
  'filter': (string)[];
}
