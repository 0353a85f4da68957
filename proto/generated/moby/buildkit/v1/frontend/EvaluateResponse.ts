// Original file: proto/moby/buildkit/v1/frontend/gateway.proto


export interface EvaluateResponse {
}

export interface EvaluateResponse__Output {
}
