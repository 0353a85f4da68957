// Original file: proto/moby/buildkit/v1/frontend/gateway.proto


export interface ResizeMessage {
  'Rows'?: (number);
  'Cols'?: (number);
}

export interface ResizeMessage__Output {
  'Rows': (number);
  'Cols': (number);
}
