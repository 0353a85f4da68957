// Original file: proto/moby/buildkit/v1/control.proto


export interface InfoRequest {
}

export interface InfoRequest__Output {
}
