// Original file: proto/errdefs/errdefs.proto

import type { SourceInfo as _pb_SourceInfo, SourceInfo__Output as _pb_SourceInfo__Output } from '../pb/SourceInfo.js';
import type { Range as _pb_Range, Range__Output as _pb_Range__Output } from '../pb/Range.js';

export interface Source {
  'info'?: (_pb_SourceInfo | null);
  'ranges'?: (_pb_Range)[];
}

export interface Source__Output {
  'info': (_pb_SourceInfo__Output | null);
  'ranges': (_pb_Range__Output)[];
}
