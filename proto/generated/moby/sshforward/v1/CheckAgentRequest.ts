// Original file: proto/moby/sshforward/v1/ssh.proto


export interface CheckAgentRequest {
  'ID'?: (string);
}

export interface CheckAgentRequest__Output {
  'ID': (string);
}
