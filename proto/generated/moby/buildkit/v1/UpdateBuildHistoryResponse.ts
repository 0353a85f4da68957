// Original file: proto/moby/buildkit/v1/control.proto


export interface UpdateBuildHistoryResponse {
}

export interface UpdateBuildHistoryResponse__Output {
}
