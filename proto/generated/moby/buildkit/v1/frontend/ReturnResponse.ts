// Original file: proto/moby/buildkit/v1/frontend/gateway.proto


export interface ReturnResponse {
}

export interface ReturnResponse__Output {
}
