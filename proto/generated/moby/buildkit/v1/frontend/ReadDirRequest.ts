// Original file: proto/moby/buildkit/v1/frontend/gateway.proto

import type { Long } from '@grpc/proto-loader';

export interface ReadDirRequest {
  'Ref'?: (string);
  'DirPath'?: (string);
  'IncludePattern'?: (string);
  'MountIndex'?: (number | string | Long);
}

export interface ReadDirRequest__Output {
  'Ref': (string);
  'DirPath': (string);
  'IncludePattern': (string);
  'MountIndex': (number);
}
