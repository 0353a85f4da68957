// Original file: proto/pb/ops.proto


export interface SecretEnv {
  'ID'?: (string);
  'name'?: (string);
  'optional'?: (boolean);
}

export interface SecretEnv__Output {
  'ID': (string);
  'name': (string);
  'optional': (boolean);
}
