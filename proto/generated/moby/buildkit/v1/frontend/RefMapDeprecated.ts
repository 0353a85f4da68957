// Original file: proto/moby/buildkit/v1/frontend/gateway.proto


export interface RefMapDeprecated {
  'refs'?: ({[key: string]: string});
}

export interface RefMapDeprecated__Output {
  'refs': ({[key: string]: string});
}
