// Original file: proto/moby/buildkit/v1/sourcepolicy/policy.proto


export interface Update {
  'identifier'?: (string);
  'attrs'?: ({[key: string]: string});
}

export interface Update__Output {
  'identifier': (string);
  'attrs': ({[key: string]: string});
}
