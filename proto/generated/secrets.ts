import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { GetSecretRequest as _moby_buildkit_secrets_v1_GetSecretRequest, GetSecretRequest__Output as _moby_buildkit_secrets_v1_GetSecretRequest__Output } from './moby/buildkit/secrets/v1/GetSecretRequest.js';
import type { GetSecretResponse as _moby_buildkit_secrets_v1_GetSecretResponse, GetSecretResponse__Output as _moby_buildkit_secrets_v1_GetSecretResponse__Output } from './moby/buildkit/secrets/v1/GetSecretResponse.js';
import type { SecretsClient as _moby_buildkit_secrets_v1_SecretsClient, SecretsDefinition as _moby_buildkit_secrets_v1_SecretsDefinition } from './moby/buildkit/secrets/v1/Secrets.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  moby: {
    buildkit: {
      secrets: {
        v1: {
          GetSecretRequest: MessageTypeDefinition<_moby_buildkit_secrets_v1_GetSecretRequest, _moby_buildkit_secrets_v1_GetSecretRequest__Output>
          GetSecretResponse: MessageTypeDefinition<_moby_buildkit_secrets_v1_GetSecretResponse, _moby_buildkit_secrets_v1_GetSecretResponse__Output>
          Secrets: SubtypeConstructor<typeof grpc.Client, _moby_buildkit_secrets_v1_SecretsClient> & { service: _moby_buildkit_secrets_v1_SecretsDefinition }
        }
      }
    }
  }
}

