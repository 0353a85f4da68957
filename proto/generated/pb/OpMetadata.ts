// Original file: proto/pb/ops.proto

import type { ExportCache as _pb_ExportCache, ExportCache__Output as _pb_ExportCache__Output } from '../pb/ExportCache.js';
import type { ProgressGroup as _pb_ProgressGroup, ProgressGroup__Output as _pb_ProgressGroup__Output } from '../pb/ProgressGroup.js';
import type { LinuxResources as _pb_LinuxResources, LinuxResources__Output as _pb_LinuxResources__Output } from '../pb/LinuxResources.js';

export interface OpMetadata {
  'ignore_cache'?: (boolean);
  'description'?: ({[key: string]: string});
  'export_cache'?: (_pb_ExportCache | null);
  'caps'?: ({[key: string]: boolean});
  'progress_group'?: (_pb_ProgressGroup | null);
  'linux_resources'?: (_pb_LinuxResources | null);
}

export interface OpMetadata__Output {
  'ignore_cache': (boolean);
  'description': ({[key: string]: string});
  'export_cache': (_pb_ExportCache__Output | null);
  'caps': ({[key: string]: boolean});
  'progress_group': (_pb_ProgressGroup__Output | null);
  'linux_resources': (_pb_LinuxResources__Output | null);
}
