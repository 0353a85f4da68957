// Original file: proto/moby/buildkit/v1/types/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface GCPolicy {
  'all'?: (boolean);
  'keepDuration'?: (number | string | Long);
  'keepBytes'?: (number | string | Long);
  'filters'?: (string)[];
  'maxUsedSpace'?: (number | string | Long);
  'minFreeSpace'?: (number | string | Long);
}

export interface GCPolicy__Output {
  'all': (boolean);
  'keepDuration': (number);
  'keepBytes': (number);
  'filters': (string)[];
  'maxUsedSpace': (number);
  'minFreeSpace': (number);
}
