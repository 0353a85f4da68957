// Original file: proto/moby/sshforward/v1/ssh.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { BytesMessage as _moby_sshforward_v1_BytesMessage, BytesMessage__Output as _moby_sshforward_v1_BytesMessage__Output } from '../../../moby/sshforward/v1/BytesMessage.js';
import type { CheckAgentRequest as _moby_sshforward_v1_CheckAgentRequest, CheckAgentRequest__Output as _moby_sshforward_v1_CheckAgentRequest__Output } from '../../../moby/sshforward/v1/CheckAgentRequest.js';
import type { CheckAgentResponse as _moby_sshforward_v1_CheckAgentResponse, CheckAgentResponse__Output as _moby_sshforward_v1_CheckAgentResponse__Output } from '../../../moby/sshforward/v1/CheckAgentResponse.js';

export interface SSHClient extends grpc.Client {
  CheckAgent(argument: _moby_sshforward_v1_CheckAgentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_moby_sshforward_v1_CheckAgentResponse__Output>): grpc.ClientUnaryCall;
  CheckAgent(argument: _moby_sshforward_v1_CheckAgentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_moby_sshforward_v1_CheckAgentResponse__Output>): grpc.ClientUnaryCall;
  CheckAgent(argument: _moby_sshforward_v1_CheckAgentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_moby_sshforward_v1_CheckAgentResponse__Output>): grpc.ClientUnaryCall;
  CheckAgent(argument: _moby_sshforward_v1_CheckAgentRequest, callback: grpc.requestCallback<_moby_sshforward_v1_CheckAgentResponse__Output>): grpc.ClientUnaryCall;
  checkAgent(argument: _moby_sshforward_v1_CheckAgentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_moby_sshforward_v1_CheckAgentResponse__Output>): grpc.ClientUnaryCall;
  checkAgent(argument: _moby_sshforward_v1_CheckAgentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_moby_sshforward_v1_CheckAgentResponse__Output>): grpc.ClientUnaryCall;
  checkAgent(argument: _moby_sshforward_v1_CheckAgentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_moby_sshforward_v1_CheckAgentResponse__Output>): grpc.ClientUnaryCall;
  checkAgent(argument: _moby_sshforward_v1_CheckAgentRequest, callback: grpc.requestCallback<_moby_sshforward_v1_CheckAgentResponse__Output>): grpc.ClientUnaryCall;
  
  ForwardAgent(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_moby_sshforward_v1_BytesMessage, _moby_sshforward_v1_BytesMessage__Output>;
  ForwardAgent(options?: grpc.CallOptions): grpc.ClientDuplexStream<_moby_sshforward_v1_BytesMessage, _moby_sshforward_v1_BytesMessage__Output>;
  forwardAgent(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_moby_sshforward_v1_BytesMessage, _moby_sshforward_v1_BytesMessage__Output>;
  forwardAgent(options?: grpc.CallOptions): grpc.ClientDuplexStream<_moby_sshforward_v1_BytesMessage, _moby_sshforward_v1_BytesMessage__Output>;
  
}

export interface SSHHandlers extends grpc.UntypedServiceImplementation {
  CheckAgent: grpc.handleUnaryCall<_moby_sshforward_v1_CheckAgentRequest__Output, _moby_sshforward_v1_CheckAgentResponse>;
  
  ForwardAgent: grpc.handleBidiStreamingCall<_moby_sshforward_v1_BytesMessage__Output, _moby_sshforward_v1_BytesMessage>;
  
}

export interface SSHDefinition extends grpc.ServiceDefinition {
  CheckAgent: MethodDefinition<_moby_sshforward_v1_CheckAgentRequest, _moby_sshforward_v1_CheckAgentResponse, _moby_sshforward_v1_CheckAgentRequest__Output, _moby_sshforward_v1_CheckAgentResponse__Output>
  ForwardAgent: MethodDefinition<_moby_sshforward_v1_BytesMessage, _moby_sshforward_v1_BytesMessage, _moby_sshforward_v1_BytesMessage__Output, _moby_sshforward_v1_BytesMessage__Output>
}
