// Original file: proto/moby/buildkit/v1/frontend/gateway.proto


export interface StartedMessage {
}

export interface StartedMessage__Output {
}
