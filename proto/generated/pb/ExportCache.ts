// Original file: proto/pb/ops.proto


export interface ExportCache {
  'Value'?: (boolean);
}

export interface ExportCache__Output {
  'Value': (boolean);
}
