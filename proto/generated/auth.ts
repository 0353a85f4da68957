import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AuthClient as _moby_filesync_v1_AuthClient, AuthDefinition as _moby_filesync_v1_AuthDefinition } from './moby/filesync/v1/Auth.js';
import type { CredentialsRequest as _moby_filesync_v1_CredentialsRequest, CredentialsRequest__Output as _moby_filesync_v1_CredentialsRequest__Output } from './moby/filesync/v1/CredentialsRequest.js';
import type { CredentialsResponse as _moby_filesync_v1_CredentialsResponse, CredentialsResponse__Output as _moby_filesync_v1_CredentialsResponse__Output } from './moby/filesync/v1/CredentialsResponse.js';
import type { FetchTokenRequest as _moby_filesync_v1_FetchTokenRequest, FetchTokenRequest__Output as _moby_filesync_v1_FetchTokenRequest__Output } from './moby/filesync/v1/FetchTokenRequest.js';
import type { FetchTokenResponse as _moby_filesync_v1_FetchTokenResponse, FetchTokenResponse__Output as _moby_filesync_v1_FetchTokenResponse__Output } from './moby/filesync/v1/FetchTokenResponse.js';
import type { GetTokenAuthorityRequest as _moby_filesync_v1_GetTokenAuthorityRequest, GetTokenAuthorityRequest__Output as _moby_filesync_v1_GetTokenAuthorityRequest__Output } from './moby/filesync/v1/GetTokenAuthorityRequest.js';
import type { GetTokenAuthorityResponse as _moby_filesync_v1_GetTokenAuthorityResponse, GetTokenAuthorityResponse__Output as _moby_filesync_v1_GetTokenAuthorityResponse__Output } from './moby/filesync/v1/GetTokenAuthorityResponse.js';
import type { VerifyTokenAuthorityRequest as _moby_filesync_v1_VerifyTokenAuthorityRequest, VerifyTokenAuthorityRequest__Output as _moby_filesync_v1_VerifyTokenAuthorityRequest__Output } from './moby/filesync/v1/VerifyTokenAuthorityRequest.js';
import type { VerifyTokenAuthorityResponse as _moby_filesync_v1_VerifyTokenAuthorityResponse, VerifyTokenAuthorityResponse__Output as _moby_filesync_v1_VerifyTokenAuthorityResponse__Output } from './moby/filesync/v1/VerifyTokenAuthorityResponse.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  moby: {
    filesync: {
      v1: {
        Auth: SubtypeConstructor<typeof grpc.Client, _moby_filesync_v1_AuthClient> & { service: _moby_filesync_v1_AuthDefinition }
        CredentialsRequest: MessageTypeDefinition<_moby_filesync_v1_CredentialsRequest, _moby_filesync_v1_CredentialsRequest__Output>
        CredentialsResponse: MessageTypeDefinition<_moby_filesync_v1_CredentialsResponse, _moby_filesync_v1_CredentialsResponse__Output>
        FetchTokenRequest: MessageTypeDefinition<_moby_filesync_v1_FetchTokenRequest, _moby_filesync_v1_FetchTokenRequest__Output>
        FetchTokenResponse: MessageTypeDefinition<_moby_filesync_v1_FetchTokenResponse, _moby_filesync_v1_FetchTokenResponse__Output>
        GetTokenAuthorityRequest: MessageTypeDefinition<_moby_filesync_v1_GetTokenAuthorityRequest, _moby_filesync_v1_GetTokenAuthorityRequest__Output>
        GetTokenAuthorityResponse: MessageTypeDefinition<_moby_filesync_v1_GetTokenAuthorityResponse, _moby_filesync_v1_GetTokenAuthorityResponse__Output>
        VerifyTokenAuthorityRequest: MessageTypeDefinition<_moby_filesync_v1_VerifyTokenAuthorityRequest, _moby_filesync_v1_VerifyTokenAuthorityRequest__Output>
        VerifyTokenAuthorityResponse: MessageTypeDefinition<_moby_filesync_v1_VerifyTokenAuthorityResponse, _moby_filesync_v1_VerifyTokenAuthorityResponse__Output>
      }
    }
  }
}

