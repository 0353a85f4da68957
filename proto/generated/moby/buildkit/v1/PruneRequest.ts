// Original file: proto/moby/buildkit/v1/control.proto

import type { Long } from '@grpc/proto-loader';

export interface PruneRequest {
  'filter'?: (string)[];
  'all'?: (boolean);
  'keepDuration'?: (number | string | Long);
  'keepBytes'?: (number | string | Long);
  'maxUsedSpace'?: (number | string | Long);
  'minFreeSpace'?: (number | string | Long);
}

export interface PruneRequest__Output {
  'filter': (string)[];
  'all': (boolean);
  'keepDuration': (number);
  'keepBytes': (number);
  'maxUsedSpace': (number);
  'minFreeSpace': (number);
}
