// Original file: proto/stack/stack.proto


export interface Frame {
  'Name'?: (string);
  'File'?: (string);
  'Line'?: (number);
}

export interface Frame__Output {
  'Name': (string);
  'File': (string);
  'Line': (number);
}
