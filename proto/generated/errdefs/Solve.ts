// Original file: proto/errdefs/errdefs.proto

import type { Op as _pb_Op, Op__Output as _pb_Op__Output } from '../pb/Op.js';
import type { FileAction as _errdefs_FileAction, FileAction__Output as _errdefs_FileAction__Output } from '../errdefs/FileAction.js';
import type { ContentCache as _errdefs_ContentCache, ContentCache__Output as _errdefs_ContentCache__Output } from '../errdefs/ContentCache.js';

export interface Solve {
  'inputIDs'?: (string)[];
  'mountIDs'?: (string)[];
  'op'?: (_pb_Op | null);
  'file'?: (_errdefs_FileAction | null);
  'cache'?: (_errdefs_ContentCache | null);
  'subject'?: "file"|"cache";
}

export interface Solve__Output {
  'inputIDs': (string)[];
  'mountIDs': (string)[];
  'op': (_pb_Op__Output | null);
  'file'?: (_errdefs_FileAction__Output | null);
  'cache'?: (_errdefs_ContentCache__Output | null);
  'subject'?: "file"|"cache";
}
