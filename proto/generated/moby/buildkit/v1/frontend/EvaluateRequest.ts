// Original file: proto/moby/buildkit/v1/frontend/gateway.proto


export interface EvaluateRequest {
  'Ref'?: (string);
}

export interface EvaluateRequest__Output {
  'Ref': (string);
}
