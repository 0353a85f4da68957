// Original file: proto/errdefs/errdefs.proto

import type { Long } from '@grpc/proto-loader';

export interface FileAction {
  'index'?: (number | string | Long);
}

export interface FileAction__Output {
  'index': (number);
}
