// Original file: proto/moby/buildkit/v1/control.proto


export interface SolveResponse {
  'ExporterResponse'?: ({[key: string]: string});
}

export interface SolveResponse__Output {
  'ExporterResponse': ({[key: string]: string});
}
