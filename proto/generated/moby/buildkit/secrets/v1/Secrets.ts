// Original file: proto/moby/buildkit/secrets/v1/secrets.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { GetSecretRequest as _moby_buildkit_secrets_v1_GetSecretRequest, GetSecretRequest__Output as _moby_buildkit_secrets_v1_GetSecretRequest__Output } from '../../../../moby/buildkit/secrets/v1/GetSecretRequest.js';
import type { GetSecretResponse as _moby_buildkit_secrets_v1_GetSecretResponse, GetSecretResponse__Output as _moby_buildkit_secrets_v1_GetSecretResponse__Output } from '../../../../moby/buildkit/secrets/v1/GetSecretResponse.js';

export interface SecretsClient extends grpc.Client {
  GetSecret(argument: _moby_buildkit_secrets_v1_GetSecretRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_moby_buildkit_secrets_v1_GetSecretResponse__Output>): grpc.ClientUnaryCall;
  GetSecret(argument: _moby_buildkit_secrets_v1_GetSecretRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_moby_buildkit_secrets_v1_GetSecretResponse__Output>): grpc.ClientUnaryCall;
  GetSecret(argument: _moby_buildkit_secrets_v1_GetSecretRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_moby_buildkit_secrets_v1_GetSecretResponse__Output>): grpc.ClientUnaryCall;
  GetSecret(argument: _moby_buildkit_secrets_v1_GetSecretRequest, callback: grpc.requestCallback<_moby_buildkit_secrets_v1_GetSecretResponse__Output>): grpc.ClientUnaryCall;
  getSecret(argument: _moby_buildkit_secrets_v1_GetSecretRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_moby_buildkit_secrets_v1_GetSecretResponse__Output>): grpc.ClientUnaryCall;
  getSecret(argument: _moby_buildkit_secrets_v1_GetSecretRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_moby_buildkit_secrets_v1_GetSecretResponse__Output>): grpc.ClientUnaryCall;
  getSecret(argument: _moby_buildkit_secrets_v1_GetSecretRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_moby_buildkit_secrets_v1_GetSecretResponse__Output>): grpc.ClientUnaryCall;
  getSecret(argument: _moby_buildkit_secrets_v1_GetSecretRequest, callback: grpc.requestCallback<_moby_buildkit_secrets_v1_GetSecretResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface SecretsHandlers extends grpc.UntypedServiceImplementation {
  GetSecret: grpc.handleUnaryCall<_moby_buildkit_secrets_v1_GetSecretRequest__Output, _moby_buildkit_secrets_v1_GetSecretResponse>;
  
}

export interface SecretsDefinition extends grpc.ServiceDefinition {
  GetSecret: MethodDefinition<_moby_buildkit_secrets_v1_GetSecretRequest, _moby_buildkit_secrets_v1_GetSecretResponse, _moby_buildkit_secrets_v1_GetSecretRequest__Output, _moby_buildkit_secrets_v1_GetSecretResponse__Output>
}
