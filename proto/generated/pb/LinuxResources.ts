// Original file: proto/pb/ops.proto

import type { Long } from '@grpc/proto-loader';

export interface LinuxResources {
  'memory'?: (number | string | Long);
  'cpu'?: (number | string | Long);
}

export interface LinuxResources__Output {
  'memory': (number);
  'cpu': (number);
}
