// Original file: proto/moby/buildkit/v1/frontend/gateway.proto


export interface DoneMessage {
}

export interface DoneMessage__Output {
}
