// Original file: proto/pb/ops.proto

import type { Long } from '@grpc/proto-loader';

export interface BuildInput {
  'input'?: (number | string | Long);
}

export interface BuildInput__Output {
  'input': (number);
}
