import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { BytesMessage as _moby_sshforward_v1_BytesMessage, BytesMessage__Output as _moby_sshforward_v1_BytesMessage__Output } from './moby/sshforward/v1/BytesMessage.js';
import type { CheckAgentRequest as _moby_sshforward_v1_CheckAgentRequest, CheckAgentRequest__Output as _moby_sshforward_v1_CheckAgentRequest__Output } from './moby/sshforward/v1/CheckAgentRequest.js';
import type { CheckAgentResponse as _moby_sshforward_v1_CheckAgentResponse, CheckAgentResponse__Output as _moby_sshforward_v1_CheckAgentResponse__Output } from './moby/sshforward/v1/CheckAgentResponse.js';
import type { SSHClient as _moby_sshforward_v1_SSHClient, SSHDefinition as _moby_sshforward_v1_SSHDefinition } from './moby/sshforward/v1/SSH.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  moby: {
    sshforward: {
      v1: {
        BytesMessage: MessageTypeDefinition<_moby_sshforward_v1_BytesMessage, _moby_sshforward_v1_BytesMessage__Output>
        CheckAgentRequest: MessageTypeDefinition<_moby_sshforward_v1_CheckAgentRequest, _moby_sshforward_v1_CheckAgentRequest__Output>
        CheckAgentResponse: MessageTypeDefinition<_moby_sshforward_v1_CheckAgentResponse, _moby_sshforward_v1_CheckAgentResponse__Output>
        SSH: SubtypeConstructor<typeof grpc.Client, _moby_sshforward_v1_SSHClient> & { service: _moby_sshforward_v1_SSHDefinition }
      }
    }
  }
}

