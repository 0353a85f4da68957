// Original file: proto/moby/buildkit/v1/frontend/gateway.proto


export interface PingRequest {
}

export interface PingRequest__Output {
}
