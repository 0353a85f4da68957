// Original file: proto/moby/buildkit/v1/frontend/gateway.proto

import type { Long } from '@grpc/proto-loader';

export interface FileRange {
  'Offset'?: (number | string | Long);
  'Length'?: (number | string | Long);
}

export interface FileRange__Output {
  'Offset': (number);
  'Length': (number);
}
