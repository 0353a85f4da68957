// Original file: proto/moby/sshforward/v1/ssh.proto


export interface CheckAgentResponse {
}

export interface CheckAgentResponse__Output {
}
