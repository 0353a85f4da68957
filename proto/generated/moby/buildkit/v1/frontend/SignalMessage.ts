// Original file: proto/moby/buildkit/v1/frontend/gateway.proto


export interface SignalMessage {
  'Name'?: (string);
}

export interface SignalMessage__Output {
  'Name': (string);
}
