// Original file: proto/fsutil/types/stat.proto

import type { Long } from '@grpc/proto-loader';

export interface Stat {
  'path'?: (string);
  'mode'?: (number);
  'uid'?: (number);
  'gid'?: (number);
  'size'?: (number | string | Long);
  'modTime'?: (number | string | Long);
  'linkname'?: (string);
  'devmajor'?: (number | string | Long);
  'devminor'?: (number | string | Long);
  'xattrs'?: ({[key: string]: Buffer | Uint8Array | string});
}

export interface Stat__Output {
  'path': (string);
  'mode': (number);
  'uid': (number);
  'gid': (number);
  'size': (number);
  'modTime': (number);
  'linkname': (string);
  'devmajor': (number);
  'devminor': (number);
  'xattrs': ({[key: string]: Buffer});
}
