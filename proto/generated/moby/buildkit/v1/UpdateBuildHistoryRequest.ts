// Original file: proto/moby/buildkit/v1/control.proto


export interface UpdateBuildHistoryRequest {
  'Ref'?: (string);
  'Pinned'?: (boolean);
  'Delete'?: (boolean);
  'Finalize'?: (boolean);
}

export interface UpdateBuildHistoryRequest__Output {
  'Ref': (string);
  'Pinned': (boolean);
  'Delete': (boolean);
  'Finalize': (boolean);
}
