// Original file: proto/moby/buildkit/v1/frontend/gateway.proto


export interface InputsRequest {
}

export interface InputsRequest__Output {
}
