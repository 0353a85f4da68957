// Original file: proto/pb/ops.proto


export interface CDIDevice {
  'name'?: (string);
  'optional'?: (boolean);
}

export interface CDIDevice__Output {
  'name': (string);
  'optional': (boolean);
}
