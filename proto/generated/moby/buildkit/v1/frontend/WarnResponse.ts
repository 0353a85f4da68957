// Original file: proto/moby/buildkit/v1/frontend/gateway.proto


export interface WarnResponse {
}

export interface WarnResponse__Output {
}
