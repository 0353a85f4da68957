// Original file: proto/moby/buildkit/v1/frontend/gateway.proto

import type { Long } from '@grpc/proto-loader';

export interface StatFileRequest {
  'Ref'?: (string);
  'Path'?: (string);
  'MountIndex'?: (number | string | Long);
}

export interface StatFileRequest__Output {
  'Ref': (string);
  'Path': (string);
  'MountIndex': (number);
}
