// Original file: proto/moby/buildkit/v1/frontend/gateway.proto

import type { FileRange as _moby_buildkit_v1_frontend_FileRange, FileRange__Output as _moby_buildkit_v1_frontend_FileRange__Output } from '../../../../moby/buildkit/v1/frontend/FileRange.js';
import type { Long } from '@grpc/proto-loader';

export interface ReadFileRequest {
  'Ref'?: (string);
  'FilePath'?: (string);
  'Range'?: (_moby_buildkit_v1_frontend_FileRange | null);
  'MountIndex'?: (number | string | Long);
}

export interface ReadFileRequest__Output {
  'Ref': (string);
  'FilePath': (string);
  'Range': (_moby_buildkit_v1_frontend_FileRange__Output | null);
  'MountIndex': (number);
}
