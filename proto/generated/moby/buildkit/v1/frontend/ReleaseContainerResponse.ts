// Original file: proto/moby/buildkit/v1/frontend/gateway.proto


export interface ReleaseContainerResponse {
}

export interface ReleaseContainerResponse__Output {
}
