// Original file: proto/moby/buildkit/v1/frontend/gateway.proto


export interface NewContainerResponse {
}

export interface NewContainerResponse__Output {
}
