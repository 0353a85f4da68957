// Original file: proto/moby/buildkit/v1/frontend/gateway.proto


export interface ReleaseContainerRequest {
  'ContainerID'?: (string);
}

export interface ReleaseContainerRequest__Output {
  'ContainerID': (string);
}
