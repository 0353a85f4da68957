// Original file: proto/errdefs/errdefs.proto

import type { Long } from '@grpc/proto-loader';

export interface ContentCache {
  'index'?: (number | string | Long);
}

export interface ContentCache__Output {
  'index': (number);
}
