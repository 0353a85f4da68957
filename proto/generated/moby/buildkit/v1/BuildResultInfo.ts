// Original file: proto/moby/buildkit/v1/control.proto

import type { Descriptor as _moby_buildkit_v1_Descriptor, Descriptor__Output as _moby_buildkit_v1_Descriptor__Output } from '../../../moby/buildkit/v1/Descriptor.js';

export interface BuildResultInfo {
  'Result'?: (_moby_buildkit_v1_Descriptor | null);
  'Attestations'?: (_moby_buildkit_v1_Descriptor)[];
  'Results'?: ({[key: number]: _moby_buildkit_v1_Descriptor});
}

export interface BuildResultInfo__Output {
  'Result': (_moby_buildkit_v1_Descriptor__Output | null);
  'Attestations': (_moby_buildkit_v1_Descriptor__Output)[];
  'Results': ({[key: number]: _moby_buildkit_v1_Descriptor__Output});
}
