// Original file: proto/moby/filesync/v1/filesync.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { BytesMessage as _moby_filesync_v1_BytesMessage, BytesMessage__Output as _moby_filesync_v1_BytesMessage__Output } from '../../../moby/filesync/v1/BytesMessage.js';

export interface FileSendClient extends grpc.Client {
  DiffCopy(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_moby_filesync_v1_BytesMessage, _moby_filesync_v1_BytesMessage__Output>;
  DiffCopy(options?: grpc.CallOptions): grpc.ClientDuplexStream<_moby_filesync_v1_BytesMessage, _moby_filesync_v1_BytesMessage__Output>;
  diffCopy(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_moby_filesync_v1_BytesMessage, _moby_filesync_v1_BytesMessage__Output>;
  diffCopy(options?: grpc.CallOptions): grpc.ClientDuplexStream<_moby_filesync_v1_BytesMessage, _moby_filesync_v1_BytesMessage__Output>;
  
}

export interface FileSendHandlers extends grpc.UntypedServiceImplementation {
  DiffCopy: grpc.handleBidiStreamingCall<_moby_filesync_v1_BytesMessage__Output, _moby_filesync_v1_BytesMessage>;
  
}

export interface FileSendDefinition extends grpc.ServiceDefinition {
  DiffCopy: MethodDefinition<_moby_filesync_v1_BytesMessage, _moby_filesync_v1_BytesMessage, _moby_filesync_v1_BytesMessage__Output, _moby_filesync_v1_BytesMessage__Output>
}
