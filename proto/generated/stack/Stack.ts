// Original file: proto/stack/stack.proto

import type { Frame as _stack_Frame, Frame__Output as _stack_Frame__Output } from '../stack/Frame.js';

export interface Stack {
  'frames'?: (_stack_Frame)[];
  'cmdline'?: (string)[];
  'pid'?: (number);
  'version'?: (string);
  'revision'?: (string);
}

export interface Stack__Output {
  'frames': (_stack_Frame__Output)[];
  'cmdline': (string)[];
  'pid': (number);
  'version': (string);
  'revision': (string);
}
