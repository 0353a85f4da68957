// Original file: proto/moby/buildkit/v1/control.proto


export interface BuildHistoryRequest {
  'ActiveOnly'?: (boolean);
  'Ref'?: (string);
  'EarlyExit'?: (boolean);
  'Filter'?: (string)[];
  'Limit'?: (number);
}

export interface BuildHistoryRequest__Output {
  'ActiveOnly': (boolean);
  'Ref': (string);
  'EarlyExit': (boolean);
  'Filter': (string)[];
  'Limit': (number);
}
