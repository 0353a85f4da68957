// Original file: proto/moby/buildkit/v1/types/worker.proto


export interface BuildkitVersion {
  'package'?: (string);
  'version'?: (string);
  'revision'?: (string);
  'dockerfileVersion'?: (string);
}

export interface BuildkitVersion__Output {
  'package': (string);
  'version': (string);
  'revision': (string);
  'dockerfileVersion': (string);
}
